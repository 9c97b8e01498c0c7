import type { DataSourceInput } from "@xdskit/resources";
import type { Service } from "../model.js";
import type { ServiceInstance } from "../registry.js";
import type { ModelIndex } from "./model-index.js";

/** A workload identity, for which the compiler asks certificate material. */
export interface WorkloadIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
  /** `spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount>`: the URI SAN its certificate must carry. */
  readonly spiffeId: string;
}

/** Resolved compiler settings (see MeshCompilerOptions for meanings and defaults). */
export interface CompileSettings {
  readonly outboundAddress: string;
  readonly outboundPort: number;
  readonly inboundAddress: string;
  readonly appAddress: string;
  readonly connectTimeout: string;
  readonly trustBundleSecret: string;
  readonly certificateSecret: string;
  readonly grpcCertificateProvider: string;
  readonly trustBundle?: DataSourceInput;
  readonly certificates?: (identity: WorkloadIdentity) => {
    readonly certificateChain: DataSourceInput;
    readonly privateKey: DataSourceInput;
  };
}

/** What planners read: the indexed model, the settings, the registry. */
export interface CompileContext {
  readonly index: ModelIndex;
  readonly settings: CompileSettings;
  readonly instances: (service: Service) => readonly ServiceInstance[];
  /** A plan shared by many groups, made once until the model or the registry changes. */
  readonly shared: <T>(key: string, make: () => T) => T;
}
