/** How the load workflow waits for a table's warehouse transaction: the first check after 1 s, then waits growing by half. */
export const FIRST_WAIT_SECONDS = 1;
export const MAX_WAIT_SECONDS = 30;

export function nextWaitSeconds(wait: number): number {
  return Math.min(MAX_WAIT_SECONDS, Math.ceil(wait * 1.5));
}

/** Checks (Wait → CheckStatement → Choice) a statement running `seconds` takes before one sees it finished. */
export function checksFor(seconds: number): number {
  let waited = 0;
  let wait = FIRST_WAIT_SECONDS;
  let checks = 0;
  do {
    waited += wait;
    wait = nextWaitSeconds(wait);
    checks++;
  } while (waited < seconds);
  return checks;
}
