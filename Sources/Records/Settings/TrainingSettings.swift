// How a DCGAN is trained and where a training run stands, as plain records
// stored in every checkpoint (CheckpointMetadata). The loop is AnoGAN's Trainer.

/// How to train. Stored in every checkpoint.
public struct TrainingSettings: Codable, Equatable, Sendable {
    /// Passes over the training set (paper: 20).
    public var epochs: Int
    /// Images per iteration (paper/DCGAN: 64). The last incomplete batch of an epoch is dropped.
    public var batchSize: Int
    /// Seeds weight initialisation, shuffles, noise and the sample-grid noise.
    public var seed: UInt64
    /// Adam for both networks (DCGAN: lr 2e-4, β₁ 0.5).
    public var adam: AdamSettings
    /// Images in the per-epoch sample grid.
    public var sampleCount: Int

    public init(epochs: Int = 20, batchSize: Int = 64, seed: UInt64 = 0, adam: AdamSettings = .dcgan, sampleCount: Int = 64) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
        self.adam = adam
        self.sampleCount = sampleCount
    }
}

/// Where a training run stands; stored in checkpoint metadata.
public struct TrainingPosition: Codable, Equatable, Sendable {
    /// Epochs fully completed.
    public var epoch: Int
    /// Iterations (batches) completed over the whole run.
    public var iteration: Int
    /// The trainer's random generator state after `iteration`.
    public var rngState: [UInt64]
    /// Adam update counts (bias correction depends on them).
    public var generatorAdamSteps: Int
    public var discriminatorAdamSteps: Int

    public init(epoch: Int, iteration: Int, rngState: [UInt64], generatorAdamSteps: Int, discriminatorAdamSteps: Int) {
        self.epoch = epoch
        self.iteration = iteration
        self.rngState = rngState
        self.generatorAdamSteps = generatorAdamSteps
        self.discriminatorAdamSteps = discriminatorAdamSteps
    }
}
