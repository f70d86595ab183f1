import { layout } from '../core/layout';
import type { IsolationState, SetAsideObject } from '../core/isolation';
import type { ObjectStore } from './objects';

/** A source's isolation state and set-aside list in the staged bucket (see core/isolation.ts). */
export class IsolationStore {
  constructor(
    private readonly objects: ObjectStore,
    private readonly bucket: string,
    private readonly source: string,
  ) {}

  async state(): Promise<IsolationState> {
    return (await this.objects.getJsonTagged<IsolationState>(this.bucket, layout.isolationState(this.source)))?.value ?? {};
  }

  async save(state: IsolationState): Promise<void> {
    await this.objects.putJson(this.bucket, layout.isolationState(this.source), state);
  }

  async setAside(): Promise<SetAsideObject[]> {
    return (await this.objects.getJsonTagged<SetAsideObject[]>(this.bucket, layout.setAside(this.source)))?.value ?? [];
  }

  async add(object: SetAsideObject): Promise<void> {
    const list = await this.setAside();
    if (list.some((o) => o.key === object.key)) return;
    await this.objects.putJson(this.bucket, layout.setAside(this.source), [...list, object]);
  }
}
