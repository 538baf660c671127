import type { BundleActivationEntity } from './bundle-activation.entity';
import type { BundleEntity } from './bundle.entity';
import type { BundleVersionSummary } from './bundle.repository';
import type {
  BundleActivationDto,
  BundleDto,
  BundleSummaryDto,
  BundleVersionDetailDto,
  BundleVersionDto,
} from './bundle.dto';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** Rows to API DTOs, explicitly: the DTOs are the contract, the tables may change. */
export class BundleMapper {
  static version(v: BundleVersionSummary, activeVersion: number | null): BundleVersionDto {
    return {
      bundle: v.bundle,
      version: v.version,
      digest: v.digest,
      data_digest: v.dataDigest,
      entrypoint: v.entrypoint,
      active: v.version === activeVersion,
      wasm_bytes: v.wasmBytes,
      created_at: new Date(v.createdAtMs).toISOString(),
      created_by: v.createdBy,
    };
  }

  static versionDetail(
    v: BundleVersionSummary & { modules: Record<string, string>; data: string },
    activeVersion: number | null,
  ): BundleVersionDetailDto {
    return {
      ...BundleMapper.version(v, activeVersion),
      modules: v.modules,
      data: JSON.parse(v.data) as Record<string, unknown>,
    };
  }

  static bundle(b: BundleEntity, versions: BundleVersionSummary[]): BundleDto {
    return {
      name: b.name,
      active_version: b.activeVersion,
      activated_at: iso(b.activatedAtMs),
      activated_by: b.activatedBy,
      versions: versions.map((v) => BundleMapper.version(v, b.activeVersion)),
    };
  }

  static summary(
    b: BundleEntity,
    stats: { count: number; latest: number } | undefined,
  ): BundleSummaryDto {
    return {
      name: b.name,
      active_version: b.activeVersion,
      latest_version: stats?.latest ?? 0,
      version_count: stats?.count ?? 0,
      activated_at: iso(b.activatedAtMs),
    };
  }

  static activation(a: BundleActivationEntity): BundleActivationDto {
    return {
      version: a.version,
      digest: a.digest,
      previous_version: a.previousVersion,
      activated_by: a.activatedBy,
      activated_at: new Date(a.activatedAtMs).toISOString(),
    };
  }
}
