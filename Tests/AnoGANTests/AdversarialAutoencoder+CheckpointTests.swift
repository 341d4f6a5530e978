// AdversarialAutoencoder+Checkpoint.swift: a checkpoint of another kind is
// refused, naming the file.

import XCTest
import Foundation
import NeuralNet
import Records
import TestSupport
@testable import AnoGAN

final class AdversarialAutoencoderCheckpointTests: TemporaryDirectoryTestCase {
    func testCheckpointOfAnotherKindIsRefusedWithItsName() throws {
        let url = dir.appendingPathComponent("other.safetensors")
        try Safetensors.write([("x", Tensor(shape: [1]))], metadata: ["format": "something-else"], to: url)
        XCTAssertThrowsError(try AdversarialAutoencoder.load(from: url)) { error in
            XCTAssertTrue("\(error)".contains("other.safetensors") && "\(error)".contains("not an aCAE checkpoint"), "\(error)")
        }
    }
}
