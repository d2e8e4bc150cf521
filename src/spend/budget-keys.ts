import { dayWindow, monthWindow } from '../time-windows.js';

/**
 * The Redis keys of a client key's spend: its day's and month's totals and the hash of what each instance
 * holds. Exact and leased budget stores name the same keys, so gateways of either mode share one budget. The
 * client key's name is the hash tag: on a Redis Cluster its keys share a slot, and one script decides.
 */
export class BudgetKeys {
  private readonly prefix: string;

  constructor(keyPrefix: string) {
    this.prefix = `${keyPrefix}spend:`;
  }

  /** The day's and month's totals (the windows `now` falls in, by the gateway's clock) and the held hash. */
  all(keyName: string, now: number): [string, string, string] {
    return [this.day(keyName, dayWindow(now)), this.month(keyName, monthWindow(now)), this.held(keyName)];
  }

  day(keyName: string, day: number): string {
    return `${this.prefix}{${keyName}}:d:${day}`;
  }

  month(keyName: string, month: number): string {
    return `${this.prefix}{${keyName}}:m:${month}`;
  }

  held(keyName: string): string {
    return `${this.prefix}{${keyName}}:held`;
  }
}
