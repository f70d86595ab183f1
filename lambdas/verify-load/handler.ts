/** verify-load: placeholder until its issue fills in the logic. */
export async function handler(event: unknown): Promise<never> {
  throw new Error(`verify-load is not implemented yet (received ${JSON.stringify(event).slice(0, 200)})`);
}
