import { ErrorCode, XdskitError } from "@xdskit/envoy-api";

/**
 * One problem in a mesh model: an `XDSKIT_INVALID_MESH_MODEL` error that names
 * the model object (`kind`, `namespace`, `objectName`; `resourceName` is
 * `Kind namespace/name`) and the field (`path`, e.g.
 * `spec.rules[0].backendRefs[1].weight`).
 * @example
 * // HTTPRoute shop/web-to-orders: spec.rules[0].backendRefs[1].weight: expected a non-negative integer; got -1
 */
export class MeshModelError extends XdskitError {
  /** The kind of the object at fault (`"HTTPRoute"`), or `"Mesh"` for the model itself. */
  readonly kind: string;
  /** Its namespace. */
  readonly namespace: string;
  /** Its name. */
  readonly objectName: string;

  constructor(kind: string, namespace: string, objectName: string, path: string, message: string) {
    const owner = `${kind} ${namespace}/${objectName}`;
    super(ErrorCode.INVALID_MESH_MODEL, `${owner}: ${path === "" ? "" : `${path}: `}${message}`, { resourceName: owner, path });
    this.name = "MeshModelError";
    this.kind = kind;
    this.namespace = namespace;
    this.objectName = objectName;
  }
}

/**
 * Several problems at once, thrown by the functions that cannot go on with a
 * bad model (`loadMeshModel` with `validate`, `MeshCompiler.update`). `errors`
 * lists every problem; the message shows the first few.
 */
export class MeshModelErrors extends XdskitError {
  readonly errors: readonly MeshModelError[];
  constructor(errors: readonly MeshModelError[]) {
    const shown = errors.slice(0, 5).map((e) => `  ${e.message}`);
    const more = errors.length > 5 ? [`  ... and ${errors.length - 5} more`] : [];
    super(
      ErrorCode.INVALID_MESH_MODEL,
      `mesh model refused (${errors.length} problem${errors.length === 1 ? "" : "s"}):\n${[...shown, ...more].join("\n")}`,
      errors[0]?.resourceName === undefined ? {} : { resourceName: errors[0].resourceName, path: errors[0].path ?? "" },
    );
    this.name = "MeshModelErrors";
    this.errors = errors;
  }
}
