// Networks/FoldedNetworks.swift: the discriminator with every BatchNorm folded
// into the convolution before it equals the unfolded D in inference mode —
// logits, features and the input gradient from either head — with non-trivial
// running statistics, and `refresh()` picks up changes to D's weights and
// statistics (until then the folded convolutions keep their own).

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

final class FoldedNetworksTests: XCTestCase {
    func testFoldedDiscriminatorMatchesDiscriminatorInInference() {
        let (_, dis) = pair(seed: 9)
        var rng = SeededGenerator(seed: 10)
        func perturbStatistics() {
            for s in dis.statistics.specs { let t = dis.statistics.value(s.name); for i in 0..<t.count { t.data[i] += rng.uniform(0, 0.5) } }
        }
        perturbStatistics()
        let folded = FoldedDiscriminator(dis)
        let x = Tensor.uniform(shape: [2, 1, 16, 16], low: -1, high: 1, using: &rng)
        let gl = Tensor.normal(shape: [2, 1], using: &rng), gf = Tensor.normal(shape: [2, 16, 1, 1], using: &rng)

        func check(_ what: String) {
            // The unfolded D first (the folded copy shares its classifier layer, so each runs its own forward before its backward).
            let want = dis.forward(x, training: false)
            let wantFromLogits = dis.backward(gradLogits: gl, gradFeatures: nil, weightGradients: false)
            _ = dis.forward(x, training: false)
            let wantFromFeatures = dis.backward(gradLogits: nil, gradFeatures: gf, weightGradients: false)

            let got = folded.forward(DNNLMemory(plain: x), logits: true, weightsUnchanged: false)
            assertClose(got.logits!.plainCopy().array, d(want.logits), "\(what): logits")
            assertClose(got.features.plainCopy().array, d(want.features), "\(what): features")
            let fromLogits = folded.backward(gradLogits: DNNLMemory(plain: gl), gradFeatures: nil, weightsUnchanged: false)
            assertClose(fromLogits.plainCopy().array, d(wantFromLogits), "\(what): dx from the logits")
            let features = folded.forward(DNNLMemory(plain: x), logits: false, weightsUnchanged: false).features
            XCTAssertNil(folded.forward(DNNLMemory(plain: x), logits: false, weightsUnchanged: false).logits)
            let fromFeatures = folded.backward(gradLogits: nil, gradFeatures: features.converting(DNNLMemory(plain: gf)), weightsUnchanged: false)
            assertClose(fromFeatures.plainCopy().array, d(wantFromFeatures), "\(what): dx from the features")
        }
        check("as made")

        // Change D as a checkpoint load would: the folded convolutions keep the old weights until refreshed
        // (the classifier is D's own layer, not a copy).
        let before = folded.forward(DNNLMemory(plain: x), logits: false, weightsUnchanged: false).features.plainCopy().array
        for i in 0..<dis.parameters.count { dis.parameters.values.data[i] += rng.normal(std: 0.05) }
        perturbStatistics()
        XCTAssertEqual(folded.forward(DNNLMemory(plain: x), logits: false, weightsUnchanged: false).features.plainCopy().array, before)
        XCTAssertNotEqual(dis.forward(x, training: false).features.array, before)
        folded.refresh()
        check("after refresh")
    }
}
