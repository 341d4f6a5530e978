// Networks/ConvolutionalTrunk.swift and the channel ladder (DCGANConfig.ladder)
// it shares with the generator: every network (G, D, its folded copy, the aCAE
// encoder) takes its channels from the ladder, and all initialise through the
// Network protocol.

import Records
import XCTest
@testable import AnoGAN
@testable import NeuralNet

final class ConvolutionalTrunkTests: XCTestCase {
    func testEveryNetworkFollowsTheLadder() {
        let c = DCGANConfig(latentDimension: 5, imageSize: 32, width: 3, channels: 2)
        XCTAssertEqual(c.ladder, [3, 6, 12, 24])
        let g = Generator(config: c), dis = Discriminator(config: c), e = Encoder(config: c)
        // G descends it: deconv{i} maps ladder[4 − i] to ladder[3 − i] channels, then to the image channels.
        XCTAssertEqual(g.parameters.value("project.weight").shape, [24 * 2 * 2, 5])
        XCTAssertEqual((1...4).map { g.parameters.value("deconv\($0).weight").shape[0] }, [24, 12, 6, 3])
        XCTAssertEqual(g.parameters.value("deconv4.weight").shape[1], 2)
        XCTAssertEqual((0..<4).map { g.norms[$0].channels }, [24, 12, 6, 3])
        // D and the encoder climb it.
        for net in [dis.trunk, e.trunk] {
            XCTAssertEqual(net.convs.map(\.outputChannels), [3, 6, 12, 24])
            XCTAssertEqual(net.convs.map(\.inputChannels), [2, 3, 6, 12])
        }
        XCTAssertEqual(dis.parameters.value("classify.weight").shape, [1, 24 * 2 * 2])
        XCTAssertEqual(e.parameters.value("code.weight").shape, [5, 24 * 2 * 2])
        XCTAssertEqual(FoldedDiscriminator(dis).forward(DNNLMemory(plain: Tensor(shape: [1, 2, 32, 32])), logits: false,
                                                        weightsUnchanged: false).features.dims, [1, 24, 2, 2])
        // One role: the same calls initialise any of them.
        let networks: [any Network] = [g, dis, e]
        var rng = SeededGenerator(seed: 2)
        for n in networks { n.initialize(using: &rng) }
        XCTAssertEqual(dis.statistics.value("bn4.running_var").array, [Float](repeating: 1, count: 24))
        XCTAssertEqual(e.parameters.value("code.bias").array, [Float](repeating: 0, count: 5))
    }
}
