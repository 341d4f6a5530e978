// Shared by every harness: a small memory limit (64 MiB) so a parser that would
// allocate from a header must refuse, as it would at the machine's limit, and
// libFuzzer's -rss_limit_mb catches one that allocates anyway.
import Records

enum FuzzBudget {
    static let limit = 64 << 20

    static func run(_ body: () -> Void) {
        MemoryBudget.$override.withValue(limit) { body() }
    }
}
