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
    /// Total iterations of the run. When set it wins over `epochs` and the run stops as soon
    /// as it is reached, possibly mid-epoch. nil (and in checkpoints written before it existed):
    /// `epochs` full epochs.
    public var iterations: Int?
    /// With a budget in epochs (`iterations` nil): train at least this many iterations, so a small
    /// set still gets enough steps (20 epochs of 400 images are only 120 iterations). nil (and in
    /// checkpoints written before it existed): exactly `epochs` epochs.
    public var minimumIterations: Int?
    /// The CLI's floor, 2000 iterations: the one-class protocol's budget, measured on 400 and 6000
    /// images of Fashion-MNIST (docs/ONE_CLASS.md). Large sets reach 20 epochs first (above 6400 images at batch 64).
    public static let defaultMinimumIterations = 2000
    /// Fraction of the given images held out as a validation slice, never trained on: a seeded
    /// choice (see `Trainer.validationSplit`) of at least 1 image and at most what leaves one
    /// batch to train. nil (and in checkpoints written before it existed) or 0: no hold-out.
    public var validationFraction: Double?
    /// The recommended hold-out, 5 %. Not the init's default, so callers (CLI, demo) opt in and
    /// runs configured before the slice existed train on the same images as before.
    public static let defaultValidationFraction = 0.05
    /// Decay of an exponential moving average of G's weights (Karras et al. 2018, Yazıcı et al. 2019),
    /// used for everything after training (samples, health, encoder, scoring). Effective decay at
    /// iteration t is min(decay, (1+t)/(10+t)), so early averages are not dominated by the random init;
    /// G's BatchNorm statistics are re-estimated for the averaged weights. nil (the paper): no average.
    public var generatorAverageDecay: Double?
    /// The target of real images in D's loss, one-sided label smoothing (Salimans et al. 2016), e.g. 0.9.
    /// nil (the paper): 1.
    public var realLabel: Float?

    /// Precision of the convolutions (Precision). nil (and in checkpoints written before it existed): `Precision.default`, f32.
    public var precision: Precision?

    public init(epochs: Int = 20, batchSize: Int = 64, seed: UInt64 = 0, adam: AdamSettings = .dcgan, sampleCount: Int = 64,
                iterations: Int? = nil, validationFraction: Double? = nil, generatorAverageDecay: Double? = nil,
                realLabel: Float? = nil, minimumIterations: Int? = nil, precision: Precision? = nil) {
        self.minimumIterations = minimumIterations
        self.generatorAverageDecay = generatorAverageDecay
        self.realLabel = realLabel
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
        self.adam = adam
        self.sampleCount = sampleCount
        self.iterations = iterations
        self.validationFraction = validationFraction
        self.precision = precision
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
    /// The random state before the current epoch's shuffle, when the run stopped mid-epoch
    /// (an iteration budget); nil at an epoch boundary and in older checkpoints.
    public var epochStartRNGState: [UInt64]? = nil

    public init(epoch: Int, iteration: Int, rngState: [UInt64], generatorAdamSteps: Int, discriminatorAdamSteps: Int,
                epochStartRNGState: [UInt64]? = nil) {
        self.epochStartRNGState = epochStartRNGState
        self.epoch = epoch
        self.iteration = iteration
        self.rngState = rngState
        self.generatorAdamSteps = generatorAdamSteps
        self.discriminatorAdamSteps = discriminatorAdamSteps
    }
}
