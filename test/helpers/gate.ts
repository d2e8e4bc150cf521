// A gate a fake slow store waits at: open until `hold` is called, then shut until `release`.
export class Gate {
  private shut: Promise<void> | undefined;
  private opened: () => void = () => {};

  hold(): void {
    this.shut = new Promise<void>((resolve) => (this.opened = resolve));
  }

  release(): void {
    this.opened();
  }

  /** Resolves at once while open; while shut, once released. */
  async pass(): Promise<void> {
    await this.shut;
  }
}
