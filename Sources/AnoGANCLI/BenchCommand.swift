// `anogan bench`: parses flags and runs AnoGAN's Benchmark (release build).
import AnoGAN
import ArgumentParser
import Records

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time G forward, D forward, a training step and a mapping step of the paper's model (build with -c release).")

    @Option(help: "oneDNN/OpenMP threads (default: OMP_NUM_THREADS or all cores).") var threads: Int?
    @Option(help: "Images per batch.") var batch = 64
    @Option(help: "Timed runs per measurement; the median is reported.") var iterations = 10
    @Option(help: "Untimed warm-up runs per measurement.") var warmup = 2
    @Option(help: "Model width (channels of D's first convolution; the paper's 64).") var width = 64
    @Option(help: "Image side in pixels (multiple of 16).") var imageSize = 64
    @Flag(help: "Print one JSON object instead of a table.") var json = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch)") }
        guard iterations >= 1 else { throw ValidationError("--iterations must be at least 1, got \(iterations)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be ≥ 0, got \(warmup)") }
        do { try DCGANConfig(imageSize: imageSize, width: width).validate() } catch { throw ValidationError("\(error)") }
    }

    func run() throws {
        var s = BenchmarkSettings()
        s.threads = threads
        s.batch = batch
        s.iterations = iterations
        s.warmup = warmup
        s.config = DCGANConfig(imageSize: imageSize, width: width)
        let result = Benchmark.run(s)
        print(json ? result.json : result.table)
    }
}
