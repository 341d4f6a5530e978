// Upper bounds on every number a user can set, checked up front by the settings
// records' `validate()` (errors name the setting; the CLI maps names to its flags).
// Far beyond any sensible run, yet small enough that sizes and products of them
// (batch × image × image, steps × images) stay far from overflow and from
// allocating more than a machine has.

/// Settings a run cannot use; the message names the setting (the CLI maps names to its flags).
public struct SettingsError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

public enum Limits {
    /// Image or patch side in pixels.
    public static let imageSize = 1024
    /// DCGAN width (channels of D's first convolution; G's last hidden layer has 8×).
    public static let width = 1024
    public static let latentDimension = 4096
    /// Epochs of a run.
    public static let epochs = 1_000_000
    /// Iterations or steps of a run (training iterations, mapping steps Γ).
    public static let iterations = 1_000_000_000
    public static let mappingSteps = 1_000_000
    /// Images per batch.
    public static let batchSize = 65_536
    /// Counts of things written or drawn (samples, triplets, patches per B-scan, t-SNE points…).
    public static let count = 1_000_000
    /// Bootstrap resamples per confidence interval.
    public static let bootstrapReplicates = 1_000_000
    /// oneDNN/OpenMP threads.
    public static let threads = 1024
    /// Draws from the prior to choose an image's z₁ among.
    public static let priorCandidates = 10_000

    /// Whether `side` is an image side the DCGAN can have: a multiple of 16 (four stride-2 layers) in 16…`imageSize`.
    public static func isModelImageSize(_ side: Int) -> Bool { side >= 16 && side % 16 == 0 && side <= imageSize }

    /// Throws a SettingsError naming `name` unless `value` lies in `range`.
    public static func check<T: Comparable & CustomStringConvertible>(_ name: String, _ value: T, in range: ClosedRange<T>) throws {
        guard range.contains(value) else { throw SettingsError("\(name) must be in \(range.lowerBound)…\(range.upperBound), got \(value)") }
    }
}

extension AdamSettings {
    /// `prefix`: the dotted path of these settings (e.g. "training.adam").
    public func validate(_ prefix: String) throws {
        guard learningRate.isFinite, learningRate > 0, learningRate <= 10 else { throw SettingsError("\(prefix).learningRate must be in (0, 10], got \(learningRate)") }
        guard beta1 >= 0, beta1 < 1 else { throw SettingsError("\(prefix).beta1 must lie in [0, 1), got \(beta1)") }
        guard beta2 >= 0, beta2 < 1 else { throw SettingsError("\(prefix).beta2 must lie in [0, 1), got \(beta2)") }
        guard epsilon.isFinite, epsilon > 0 else { throw SettingsError("\(prefix).epsilon must be positive, got \(epsilon)") }
    }
}

extension DCGANConfig {
    /// The lower bounds of `validate()` and the upper bounds of `Limits`, naming `prefix.field`.
    public func validateLimits(_ prefix: String = "architecture") throws {
        try Limits.check("\(prefix).latentDimension", latentDimension, in: 1...Limits.latentDimension)
        guard Limits.isModelImageSize(imageSize) else {
            throw SettingsError("\(prefix).imageSize must be a multiple of 16 in 16…\(Limits.imageSize), got \(imageSize)")
        }
        try Limits.check("\(prefix).width", width, in: 1...Limits.width)
        // The networks take any channel count, but data, scores and pictures are grey.
        guard channels == 1 else {
            throw SettingsError("\(prefix).channels must be 1: anogan's images, scores and pictures are grey, got \(channels)")
        }
    }
}

extension TrainingSettings {
    public func validate(_ prefix: String = "training") throws {
        try Limits.check("\(prefix).epochs", epochs, in: 1...Limits.epochs)
        if let iterations { try Limits.check("\(prefix).iterations", iterations, in: 1...Limits.iterations) }
        try Limits.check("\(prefix).batchSize", batchSize, in: 2...Limits.batchSize)
        try Limits.check("\(prefix).sampleCount", sampleCount, in: 1...1024)
        if let f = validationFraction, !(f >= 0 && f < 1) { throw SettingsError("\(prefix).validationFraction must lie in [0, 1), got \(f)") }
        try adam.validate("\(prefix).adam")
    }
}

extension MappingSettings {
    public func validate(_ prefix: String = "scoring.mapping") throws {
        try Limits.check("\(prefix).steps", steps, in: 0...Limits.mappingSteps)
        guard lambda >= 0, lambda <= 1 else { throw SettingsError("\(prefix).lambda must lie in [0, 1], got \(lambda)") }
        try Limits.check("\(prefix).batchSize", batchSize, in: 1...Limits.batchSize)
        try adam.validate("\(prefix).adam")
        if let priorCandidates { try Limits.check("\(prefix).priorCandidates", priorCandidates, in: 1...Limits.priorCandidates) }
    }
}

extension ScoringSettings {
    public func validate(_ prefix: String = "scoring") throws {
        try mapping.validate("\(prefix).mapping")
        if mapping.steps == 0, start == .prior {
            throw SettingsError("\(prefix).mapping.steps 0 needs \(prefix).start encoder: from the prior it would score G of a random z₁")
        }
        if let k = mapping.priorCandidates, k > 1, start == .encoder {
            throw SettingsError("\(prefix).mapping.priorCandidates applies to the prior start; the encoder start begins at E(x)")
        }
    }
}
