import type { StepFunctionsService } from './stepfunctions/StepFunctionsService';

export interface ScheduleSpec {
  readonly name: string;
  readonly stateMachineArn: string;
  /** JSON input, as the schedule's target has it (e.g. `{"source":"web"}`). */
  readonly input: string;
  /** The schedule's expression: `rate(…)` schedules fire every local interval; `cron(…)` ones (the daily verification) do not fire locally. */
  readonly expression?: string;
  /** The role the Scheduler assumes to start the execution (`Target.RoleArn`). */
  readonly roleArn?: string;
}

/** A tick the target refused (EventBridge Scheduler counts it in `TargetErrorCount` and retries per its policy). */
export interface ScheduleError {
  readonly schedule: string;
  readonly message: string;
}

/**
 * The EventBridge schedules of the template, firing every `intervalSeconds` instead of their
 * rate. Like EventBridge Scheduler, a tick starts an execution whether or not the previous one
 * still runs: the load workflow itself ends a tick that finds its source's load running (SKIPPED).
 */
export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  /** Executions started per schedule. */
  public readonly fired = new Map<string, number>();
  /** IAM for the schedule role's StartExecution (set by local mode when strict): the denial message, or undefined. */
  public authorizeRole: ((roleArn: string, action: string, resource: string) => string | undefined) | undefined;
  /** Ticks whose StartExecution IAM refused (newest last). */
  public readonly errors: ScheduleError[] = [];
  private readonly schedules: ReadonlyArray<ScheduleSpec>;

  constructor(
    private readonly stepFunctions: StepFunctionsService,
    schedules: ReadonlyArray<ScheduleSpec>,
    private readonly intervalSeconds: number,
  ) {
    this.schedules = schedules.filter((s) => !s.expression?.startsWith('cron('));
  }

  start(): void {
    if (this.intervalSeconds <= 0 || this.schedules.length === 0) return;
    this.timer = setInterval(() => this.tick(), this.intervalSeconds * 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Fires every schedule. */
  tick(): void {
    for (const s of this.schedules) {
      const denied = s.roleArn ? this.authorizeRole?.(s.roleArn, 'states:StartExecution', s.stateMachineArn) : undefined;
      if (denied) {
        this.errors.push({ schedule: s.name, message: denied });
        continue;
      }
      this.stepFunctions.start(s.stateMachineArn, s.input);
      this.fired.set(s.name, (this.fired.get(s.name) ?? 0) + 1);
    }
  }
}
