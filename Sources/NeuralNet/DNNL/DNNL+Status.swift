// oneDNN's error handling: every C call returns a status, and a failure is a
// programming error here (shapes and layouts are checked before oneDNN sees
// them), so it stops the process with the call's name and the status.

import CDNNL

extension DNNL {
    /// Stops with "oneDNN <what> failed with status <n>" unless `status` is success.
    static func check(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
        precondition(status == dnnl_success, "oneDNN \(what()) failed with status \(status.rawValue)")
    }
}
