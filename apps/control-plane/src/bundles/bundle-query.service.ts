import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../errors/domain.error';
import type {
  BundleActivationListDto,
  BundleDto,
  BundleListDto,
  BundleVersionDetailDto,
} from './bundle.dto';
import { BundleMapper } from './bundle.mapper';
import { BundleRepository } from './bundle.repository';

/** Most activation-history entries one response lists. */
const MAX_ACTIVATIONS = 500;

/** Read side of bundles; never returns wasm blobs. */
@Injectable()
export class BundleQueryService {
  constructor(private readonly bundles: BundleRepository) {}

  async list(): Promise<BundleListDto> {
    const [rows, stats] = await Promise.all([
      this.bundles.listBundles(),
      this.bundles.versionStats(),
    ]);
    return { items: rows.map((b) => BundleMapper.summary(b, stats.get(b.name))) };
  }

  async get(name: string): Promise<BundleDto> {
    const b = await this.bundles.findBundle(name);
    if (!b) throw new NotFoundError(`bundle ${name} not found`);
    return BundleMapper.bundle(b, await this.bundles.listVersions(name));
  }

  /** Who activated which version when (rollbacks included), newest first. */
  async activations(name: string): Promise<BundleActivationListDto> {
    if (!(await this.bundles.findBundle(name))) throw new NotFoundError(`bundle ${name} not found`);
    const rows = await this.bundles.listActivations(name, MAX_ACTIVATIONS);
    return { items: rows.map((a) => BundleMapper.activation(a)) };
  }

  async version(name: string, version: number): Promise<BundleVersionDetailDto> {
    const [b, v] = await Promise.all([
      this.bundles.findBundle(name),
      this.bundles.findVersion(name, version),
    ]);
    if (!b || !v) throw new NotFoundError(`bundle ${name} has no version ${version}`);
    return BundleMapper.versionDetail(v, b.activeVersion);
  }
}
