// Per-layout caches of bound primitives. A layer's primitives depend on the
// layout (and so the batch size) of its input and on the mode; each distinct
// key is built once and reused for every later call.

import Records
import CDNNL

/// A small list of plans keyed by input memory descriptor and a mode flag.
final class PlanCache<Plan> {
    private var entries: [(desc: dnnl_memory_desc_t, mode: Int, plan: Plan)] = []

    func plan(for desc: dnnl_memory_desc_t, mode: Int = 0, make: () -> Plan) -> Plan {
        for e in entries where e.mode == mode && DNNL.equal(e.desc, desc) { return e.plan }
        let p = make()
        entries.append((desc, mode, p))
        return p
    }
}
