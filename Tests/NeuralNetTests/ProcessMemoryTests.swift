// ProcessMemory against what this test does to the process: touching a 64 MB buffer raises the
// resident set and its peak by about that much; after freeing it and restarting the peak, the
// peak is back near the resident set, far below the high-water mark it had.

import NeuralNet
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class ProcessMemoryTests: XCTestCase {
    func testPeakFollowsA64MBBufferAndRestarts() throws {
        guard let before = ProcessMemory.resident else { throw XCTSkip("no /proc/self/status here") }
        XCTAssertTrue(ProcessMemory.resetPeak())
        let bytes = 64 << 20
        // Fresh pages straight from the kernel: inside the full suite, malloc served 64 MB from heap
        // memory that earlier tests had freed but that was still resident, so VmRSS did not move.
        guard let buffer = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              buffer != MAP_FAILED else { throw XCTSkip("mmap of 64 MB failed") }
        buffer.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)  // touched, so resident
        let during = try XCTUnwrap(ProcessMemory.resident)
        if during - before < bytes / 10 {
            // A kernel that does not count these pages in VmRSS (an emulated /proc) leaves nothing to
            // measure against; `speed` prints what the kernel reports.
            munmap(buffer, bytes)
            throw XCTSkip("this kernel's VmRSS did not follow a touched 64 MB mapping (\(before) → \(during) bytes)")
        }
        XCTAssertGreaterThan(during - before, bytes * 9 / 10)
        munmap(buffer, bytes)
        let peak = try XCTUnwrap(ProcessMemory.peakResident)
        XCTAssertGreaterThan(peak, during - (1 << 20), "the kernel's peak lags its per-thread counters by up to a few pages")
        XCTAssertLessThan(try XCTUnwrap(ProcessMemory.resident), during - bytes / 2, "the mapping went back to the system")
        ProcessMemory.resetPeak()
        XCTAssertLessThan(try XCTUnwrap(ProcessMemory.peakResident), peak - bytes / 2, "a restarted peak forgets the buffer")
    }
}
