// The rxjs classes the cache makes (the watch Observable, the status events'
// Subject, throwError), required from their own CommonJS modules rather than
// imported: `import` of a CommonJS module first scans its source for export
// names (cjs-module-lexer) and wraps it in an ES module, which costs more than
// the module itself for rxjs's small files (about 10 ms of the import of
// @xdskit/server). require() and `import "rxjs"` share the CommonJS module, so
// these are the classes the application's rxjs has. Only the modules needed,
// not the "rxjs" index, which loads all of rxjs (docs/benchmarks.md, "Import time").
import { createRequire } from "node:module";
import type * as ObservableModule from "rxjs/internal/Observable";
import type * as ThrowErrorModule from "rxjs/internal/observable/throwError";
import type * as SubjectModule from "rxjs/internal/Subject";

const requireRx = createRequire(import.meta.url);

export const { Observable } = requireRx("rxjs/internal/Observable") as typeof ObservableModule;
export type Observable<T> = ObservableModule.Observable<T>;
export const { Subject } = requireRx("rxjs/internal/Subject") as typeof SubjectModule;
export type Subject<T> = SubjectModule.Subject<T>;
export const { throwError } = requireRx("rxjs/internal/observable/throwError") as typeof ThrowErrorModule;
