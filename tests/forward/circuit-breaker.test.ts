import { CircuitBreaker } from '../../src/forward/circuit-breaker';

function breaker(): { breaker: CircuitBreaker; advance: (ms: number) => void } {
  let now = 1_000_000;
  return { breaker: new CircuitBreaker({ failureThreshold: 3, coolDownMs: 1000 }, () => now), advance: (ms) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('stays closed below the failure threshold', () => {
    const { breaker: b } = breaker();
    b.failed();
    b.failed();
    expect(b.state()).toBe('closed');
    expect(b.permits()).toBe(Number.POSITIVE_INFINITY);
  });

  it('opens after the threshold of consecutive failures and lets nothing through', () => {
    const { breaker: b } = breaker();
    b.failed();
    b.failed();
    expect(b.failed()).toBe(true);
    expect(b.state()).toBe('open');
    expect(b.permits()).toBe(0);
  });

  it('counts only consecutive failures: a success in between resets the count', () => {
    const { breaker: b } = breaker();
    b.failed();
    b.failed();
    b.succeeded();
    b.failed();
    expect(b.state()).toBe('closed');
  });

  it('lets exactly one probe through after the cool-down', () => {
    const { breaker: b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failed();
    advance(1000);
    expect(b.state()).toBe('half-open');
    expect(b.permits()).toBe(1);
    b.probeStarted();
    expect(b.permits()).toBe(0);
  });

  it('closes when the probe succeeds', () => {
    const { breaker: b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failed();
    advance(1000);
    b.probeStarted();
    b.succeeded();
    expect(b.state()).toBe('closed');
  });

  it('opens again for a full cool-down when the probe fails', () => {
    const { breaker: b, advance } = breaker();
    for (let i = 0; i < 3; i++) b.failed();
    advance(1000);
    b.probeStarted();
    expect(b.failed()).toBe(true);
    advance(999);
    expect(b.state()).toBe('open');
  });

  it('holds off for a Retry-After even below the failure threshold', () => {
    const { breaker: b, advance } = breaker();
    expect(b.failed(5000)).toBe(true);
    advance(4999);
    expect(b.state()).toBe('open');
    advance(1);
    expect(b.state()).toBe('half-open');
  });
});
