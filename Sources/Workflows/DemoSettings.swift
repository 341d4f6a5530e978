// Sizes of the one-command demo (`anogan demo`): how many phantom volumes and
// patches, the model size, training lengths and mapping steps. `standard` uses the paper's
// 64×64 patches with a narrower model (width 16: 128-64-32-16 channels) and is
// sized to finish in about ten minutes on two cores (release build); `quick` is a
// much smaller run for tests and a first look.

import AnoGAN
import Foundation
import NeuralNet
import Records

/// Everything that determines the demo's outputs. Stored in `demo.json`; a stage
/// whose recorded settings differ is recomputed.
public struct DemoSettings: Codable, Equatable, Sendable {
    public var seed: UInt64 = 1

    // Phantom volumes (OCTPhantom): B-scans of phantomHeight × phantomWidth over 6 mm.
    public var trainingVolumes = 6
    public var testHealthyVolumes = 2
    public var testDiseasedVolumes = 3
    public var bscans = 16
    public var phantomWidth = 512
    public var phantomHeight = 496

    // Patches (OCTPreprocessing): patch side = the model's image size.
    public var trainingPatchesPerBScan = 64
    /// Patches per B-scan of the held-out volumes (healthy and diseased).
    public var testPatchesPerBScan = 10
    /// The test set keeps every anomalous patch and at most this many normal ones (a seeded
    /// random choice among healthy-volume and fluid-free diseased-volume patches), because
    /// fluid covers a small part of a B-scan and random positions rarely hit it.
    public var testNormalLimit = 256

    // Models.
    public var imageSize = 64
    public var width = 16
    /// Images per step of the GAN, the encoder and the aCAE. 32, not DCGAN's 64: a step costs about half
    /// as much, so the same time buys twice the updates, and G covers rarer normal structure (the foveal
    /// pit) that it dropped at 2000 steps of 64 (docs/DETECTION.md, "Batch 32").
    public var batchSize = 32
    /// GAN training iterations (batches), about 21 epochs of the standard demo's patches at batch 32.
    public var ganIterations = 4000
    public var acaeEpochs = 3
    /// Decay of the moving average of G's weights (TrainingSettings.generatorAverageDecay); nil: none.
    /// On: of the stabilisers measured it is the one that helped (docs/DETECTION.md).
    public var generatorAverageDecay: Double? = 0.999
    /// D's target for real images (TrainingSettings.realLabel); nil: 1. Seed 1, 2000 iterations with
    /// the average: 0.9 raised the prior start's A from 0.705 to 0.781 and the encoder start's from 0.882 to 0.892.
    public var realLabel: Float? = 0.9
    /// Iterations of the izi_f encoder E, trained after the GAN with G and D frozen (about 6 passes over the
    /// training patches at batch 32).
    public var encoderIterations = 1200

    // Scoring.
    public var mappingSteps = 200
    /// The prior start's z₁ is the best of this many draws by the mapping's loss
    /// (MappingSettings.priorCandidates; nil or 1: the paper's single draw). With Γ = 200 instead of
    /// the paper's 500, one draw in six left a normal patch stuck far from its fit (a wrong layer
    /// boundary) and scored as an anomaly; 16 draws raised A from 0.777, 0.730, 0.828 to 0.844,
    /// 0.794, 0.846 on seeds 1–3 (docs/DETECTION.md).
    public var priorCandidates: Int? = 16
    /// Γ of the mapping started from E(x) (the encoder score alone is Γ = 0 and always shown).
    public var refinementSteps = 20
    /// Normal training patches scored for Fig. 4(c, d) and Fig. 3's first block.
    public var trainingScoreCount = 64

    /// Precision of every stage's convolutions: GAN, encoder and aCAE training and all scoring
    /// (Precision). nil (and in demo.json files written before it existed): `Precision.default`, f32;
    /// Demo.run records it explicitly.
    public var precision: Precision?

    public init() {}

    /// About ten minutes on two cores in a release build.
    public static let standard = DemoSettings()

    /// A much smaller run (tests, a first look): 32×32 patches, width 16, few steps.
    public static var quick: DemoSettings {
        var s = DemoSettings()
        s.trainingVolumes = 2
        s.testHealthyVolumes = 1
        s.testDiseasedVolumes = 1
        s.bscans = 4
        s.phantomWidth = 256
        s.phantomHeight = 248
        s.trainingPatchesPerBScan = 16
        s.testPatchesPerBScan = 8
        s.testNormalLimit = 48
        s.imageSize = 32
        s.width = 16
        s.batchSize = 16
        s.ganIterations = 6
        s.acaeEpochs = 1
        s.mappingSteps = 5
        s.priorCandidates = 4
        s.encoderIterations = 8
        s.refinementSteps = 3
        s.trainingScoreCount = 8
        return s
    }

    /// The DCGAN shared by AnoGAN and the aCAE.
    public var architecture: DCGANConfig {
        DCGANConfig(latentDimension: 100, imageSize: imageSize, width: width, channels: 1)
    }

    /// The precision every stage runs in (nil: f32).
    public var resolvedPrecision: Precision { precision ?? .default }

    /// Throws a readable error for settings the pipeline cannot run.
    public func validate() throws {
        func need(_ ok: Bool, _ message: String) throws { if !ok { throw DemoError(message) } }
        try architecture.validate()
        try need(trainingVolumes >= 1 && testHealthyVolumes >= 1 && testDiseasedVolumes >= 1, "trainingVolumes, testHealthyVolumes and testDiseasedVolumes must be ≥ 1")
        try need(bscans >= 1 && phantomWidth >= 64 && phantomHeight >= 64, "bscans must be ≥ 1, phantomWidth and phantomHeight ≥ 64")
        try need(trainingPatchesPerBScan >= 1 && testPatchesPerBScan >= 1, "trainingPatchesPerBScan and testPatchesPerBScan must be ≥ 1")
        try need(batchSize >= 2, "batchSize must be ≥ 2")
        try need(trainingVolumes * bscans * trainingPatchesPerBScan >= batchSize, "fewer training patches (trainingVolumes × bscans × trainingPatchesPerBScan) than one batch (batchSize)")
        try need(ganIterations >= 1 && acaeEpochs >= 1 && mappingSteps >= 1, "ganIterations, acaeEpochs and mappingSteps must be ≥ 1")
        try need(encoderIterations >= 1 && refinementSteps >= 1, "encoderIterations and refinementSteps must be ≥ 1")
        try need((1...Limits.priorCandidates).contains(priorCandidates ?? 1), "priorCandidates must be in 1…\(Limits.priorCandidates)")
        try need(trainingScoreCount >= 1, "trainingScoreCount must be ≥ 1")
        try need(testNormalLimit >= 1, "testNormalLimit must be ≥ 1")
        do { try resolvedPrecision.checkSupported() } catch { throw DemoError("\(error)") }
    }
}

/// A demo or one-class run that cannot run as asked (its settings, or the data they made).
public struct DemoError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
