// `anogan speed` (formerly `bench`): times G forward, D forward, a training step
// and a mapping step of a model on this machine. Parses flags over
// BenchmarkSettings (file) and calls AnoGAN's Benchmark.run (release build).
import AnoGAN
import ArgumentParser
import Records
import Workflows

/// The settings file of `anogan speed`.
struct SpeedConfig: Codable {
    var speed = BenchmarkSettings()
}

struct SpeedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speed",
        abstract: "Time G forward, D forward, a training step and a mapping step of the paper's model (build with -c release).",
        discussion: """
        --config FILE (JSON or YAML) holds any of {speed: {config: {latentDimension, imageSize, width, channels}, \
        batch, iterations, warmup, threads, seed, precision}}; flags override it. (Old name: bench, kept for one release.)
        """,
        aliases: ["bench"])

    private static let defaults = BenchmarkSettings()

    @Option(help: "oneDNN/OpenMP threads (default: OMP_NUM_THREADS or all cores).") var threads: Int?
    @Option(help: "Images per batch (default \(defaults.batch)).") var batch: Int?
    @Option(help: "Timed runs per measurement; the median is reported (default \(defaults.iterations)).") var iterations: Int?
    @Option(help: "Untimed warm-up runs per measurement (default \(defaults.warmup)).") var warmup: Int?
    @Option(help: "Model width, channels of D's first convolution (default \(defaults.config.width), the paper's).") var width: Int?
    @Option(help: "Image side in pixels, a multiple of 16 (default \(defaults.config.imageSize)).") var imageSize: Int?
    @Flag(help: "Print one JSON object instead of a table.") var json = false
    @OptionGroup var configFile: ConfigOption
    @OptionGroup var precisionOption: PrecisionOption

    func validate() throws {
        try ThreadOptions.check(threads)
        try requireRange(batch, 1...Limits.batchSize, "--batch")
        try requireRange(iterations, 1...100_000, "--iterations")
        try requireRange(warmup, 0...100_000, "--warmup")
        var config = Self.defaults.config
        if let imageSize { config.imageSize = imageSize }
        if let width { config.width = width }
        do { try config.validate(); try config.validateLimits() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        var s = try configFile.load(SpeedConfig()).value.speed
        if let threads { s.threads = threads }
        if let batch { s.batch = batch }
        if let iterations { s.iterations = iterations }
        if let warmup { s.warmup = warmup }
        if let width { s.config.width = width }
        if let imageSize { s.config.imageSize = imageSize }
        if let precision = precisionOption.precision { s.precision = precision }
        try PrecisionOption.check(s.precision)  // also when bf16 came from the settings file
        do { try s.config.validate() } catch { throw ValidationError("\(error)") }
        guard s.batch >= 1, s.iterations >= 1, s.warmup >= 0, (s.threads ?? 1) >= 1 else {
            throw ValidationError("batch, iterations and threads must be ≥ 1 and warmup ≥ 0")
        }
        let result = Benchmark.run(s)
        print(json ? result.json : result.table)
    }
}
