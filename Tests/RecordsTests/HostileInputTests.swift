// Hostile and oversized inputs to the Records readers (issue 10): every size a
// header declares is checked against MemoryBudget before anything is allocated,
// overflowing shapes are errors rather than traps, and non-files are refused.

import Foundation
import Records
import TestSupport
import XCTest

final class HostileInputTests: TemporaryDirectoryTestCase {
    func testMemoryLimitSettingParses() {
        XCTAssertEqual(MemoryBudget.parse("123"), 123)
        XCTAssertEqual(MemoryBudget.parse("8G"), 8 << 30)
        XCTAssertEqual(MemoryBudget.parse("512m"), 512 << 20)
        XCTAssertEqual(MemoryBudget.parse("1.5K"), 1536)
        XCTAssertEqual(MemoryBudget.parse("16GB"), 16 << 30)
        for bad in ["", "abc", "-1", "0", "8X", "1e30", "nan"] { XCTAssertNil(MemoryBudget.parse(bad), bad) }
    }

    func testDefaultLimitIsAQuarterOfPhysicalMemory() throws {
        let physical = Int(ProcessInfo.processInfo.physicalMemory)
        XCTAssertEqual(Double(MemoryBudget.machineDefault), Double(max(256 << 20, physical / 4)), accuracy: Double(physical) * 0.01)
    }

    func testOverflowingAndOversizedProducts() throws {
        XCTAssertNil(MemoryBudget.product([1 << 32, 1 << 32]))
        XCTAssertNil(MemoryBudget.product([-1, 2]))
        XCTAssertEqual(MemoryBudget.product([3, 0, 1 << 62]), 0)
        XCTAssertNil(MemoryBudget.sum([Int.max, 1]))
        try MemoryBudget.$override.withValue(100) {
            XCTAssertNoThrow(try MemoryBudget.check(100, for: "f", "x"))
            assertFileError(try MemoryBudget.check(101, for: "f", "the test"), names: "f",
                            "the test would need 101 bytes, above the memory limit of 100 bytes; raise it with the setting ANOGAN_MEMORY_LIMIT")
            assertFileError(try MemoryBudget.check(nil, for: "f", "the test"), names: "f", "more bytes than this machine can address")
        }
    }

    func testNPYBeyondTheBudgetIsRefusedAndWithinItLoads() throws {
        let url = dir.appendingPathComponent("big.npy")
        try NPY.write(Tensor(shape: [2000]), to: url)
        XCTAssertEqual(try NPY.readTensor(url).count, 2000)
        try MemoryBudget.$override.withValue(4000) {
            assertFileError(try NPY.read(url), names: "big.npy", "would need")
        }
    }

    func testNPYShapeWhoseSizeOverflowsIsAnErrorNotATrap() throws {
        var bytes = NPY.encode(NPYArray(Tensor(shape: [1])))
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
        bytes = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0]) + Data(header.utf8) + Data(count: 4)
        assertFileError(try NPY.decode(bytes, path: "x.npy"), names: "x.npy", "overflows")
    }

    func testScalarNPYWhereArraysAreExpectedIsAnError() throws {
        let url = dir.appendingPathComponent("scalar.npy")
        try NPY.write(Tensor(shape: [], values: [1]), to: url)
        XCTAssertEqual(try NPY.readTensor(url).shape, [])
        assertFileError(try NPY.readTensor(url, minimumRank: 1), names: "scalar.npy", "0-d array")
        // A patch set whose images.npy is 0-d gets the patch set's shape error.
        try FileManager.default.moveItem(at: url, to: dir.appendingPathComponent("images.npy"))
        assertFileError(try PatchSet.load(from: dir), names: "images.npy", "images must be N×1×S×S")
    }

    func testSafetensorsBeyondTheBudgetIsRefused() throws {
        let url = dir.appendingPathComponent("t.safetensors")
        try Safetensors.write([("x", Tensor(shape: [1000]))], metadata: [:], to: url)
        XCTAssertNoThrow(try Safetensors.read(url))
        // Stored as 1000 bytes of U8, converted to 4000 bytes of Float32: the conversion is what is refused.
        let bytes = Data(count: 8) + Data("{\"x\":{\"dtype\":\"U8\",\"shape\":[1000],\"data_offsets\":[0,1000]}}".utf8) + Data(count: 1000)
        var data = bytes
        let headerLength = UInt64(bytes.count - 8 - 1000)
        withUnsafeBytes(of: headerLength.littleEndian) { data.replaceSubrange(0..<8, with: $0) }
        XCTAssertEqual(try Safetensors.decode(data, path: "u8.safetensors").tensors["x"]?.count, 1000)
        try MemoryBudget.$override.withValue(3000) {
            assertFileError(try Safetensors.decode(data, path: "u8.safetensors"), names: "u8.safetensors", "1 tensors as float32 would need 4.0 KB")
        }
    }

    func testFilesBeyondTheBudgetFIFOsAndDirectoriesAreRefused() throws {
        let file = dir.appendingPathComponent("f.bin")
        try Data(count: 2048).write(to: file)
        XCTAssertEqual(try readFile(file).count, 2048)
        try MemoryBudget.$override.withValue(1024) {
            assertFileError(try readFile(file), names: "f.bin", "reading the file would need 2.0 KB, above the memory limit of 1.0 KB")
        }
        let fifo = dir.appendingPathComponent("pipe")
        XCTAssertEqual(mkfifo(fifo.path, 0o600), 0)
        assertFileError(try readFile(fifo), names: "pipe", "FIFO")
        assertFileError(try readFile(dir), names: dir.lastPathComponent, "is a directory")
        assertFileError(try readFile(dir.appendingPathComponent("missing")), names: "missing", "no such file")
    }

    func testMalformedMemoryLimitSettingIsAnError() throws {
        setenv(MemoryBudget.environmentVariable, "lots", 1)
        defer { unsetenv(MemoryBudget.environmentVariable) }
        assertFileError(try MemoryBudget.limit(), names: "ANOGAN_MEMORY_LIMIT", "\"lots\" is not a byte count")
        setenv(MemoryBudget.environmentVariable, "2K", 1)
        XCTAssertEqual(try MemoryBudget.limit(), 2048)
    }

    func testCheckpointMetadataCountersAndTensorsAreChecked() throws {
        let config = DCGANConfig(latentDimension: 2, imageSize: 16, width: 1, channels: 1)
        let position = TrainingPosition(epoch: 1, iteration: 3, rngState: [1, 2, 3, 4], generatorAdamSteps: 3, discriminatorAdamSteps: 3)
        let meta = CheckpointMetadata(architecture: config, settings: TrainingSettings(), position: position,
                                      dataset: CheckpointDataset(count: 8, path: "p"))
        let url = dir.appendingPathComponent("c.safetensors")
        var tensors: [String: Tensor] = [:]
        for (name, shape) in CheckpointMetadata.layout(for: config) { tensors[name] = Tensor(shape: shape, value: 1) }
        for network in ["generator", "discriminator"] {
            let n = CheckpointMetadata.layout(for: config).filter { $0.name.hasPrefix(network + ".") && !CheckpointMetadata.isStatistic($0.name) }
                .reduce(0) { $0 + $1.shape.reduce(1, *) }
            tensors["optim.\(network).m"] = Tensor(shape: [n]); tensors["optim.\(network).v"] = Tensor(shape: [n])
        }
        let order = tensors.keys.sorted()
        XCTAssertNoThrow(try meta.validate(tensors: tensors, order: order, of: url))

        tensors["discriminator.bn3.running_var"]!.data[0] = -1
        assertFileError(try meta.validate(tensors: tensors, order: order, of: url), names: "c.safetensors", "negative variance -1.0")
        tensors["discriminator.bn3.running_var"]!.data[0] = .nan
        assertFileError(try meta.validate(tensors: tensors, order: order, of: url), names: "c.safetensors", "NaN or Inf")
        tensors["discriminator.bn3.running_var"] = Tensor(shape: [5], value: 1)
        assertFileError(try meta.validate(tensors: tensors, order: order, of: url), names: "c.safetensors",
                        "discriminator.bn3.running_var has shape [5], the declared architecture needs [4]")

        var header = try meta.safetensorsMetadata()
        header["position"] = try CheckpointMetadata.json(TrainingPosition(epoch: 0, iteration: Int.max, rngState: [1, 2, 3, 4],
                                                                           generatorAdamSteps: 0, discriminatorAdamSteps: 0))
        assertFileError(try CheckpointMetadata(safetensorsMetadata: header, of: url), names: "c.safetensors", "position iteration")
        header["position"] = try CheckpointMetadata.json(TrainingPosition(epoch: 0, iteration: 0, rngState: [0, 0, 0, 0],
                                                                           generatorAdamSteps: 0, discriminatorAdamSteps: 0))
        assertFileError(try CheckpointMetadata(safetensorsMetadata: header, of: url), names: "c.safetensors", "random state is malformed")
    }
}
