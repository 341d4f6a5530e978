// Flags shared by several subcommands.
import ArgumentParser
import NeuralNet
import Records

/// `--threads`: oneDNN/OpenMP threads, set before the first primitive runs.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for oneDNN (default: OMP_NUM_THREADS or all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    func apply() {
        if let threads { Threads.set(threads) }
    }
}

/// `--image-size` and `--width`: the DCGAN's size (DCGANConfig).
struct ArchitectureOptions: ParsableArguments {
    @Option(help: "Image size S of the model (a multiple of 16; the paper: 64).")
    var imageSize: Int?

    @Option(help: "Width w: channels of D's first convolution (the paper: 64, i.e. 512-256-128-64).")
    var width: Int?

    func validate() throws {
        if let imageSize, imageSize < 16 || imageSize % 16 != 0 {
            throw ValidationError("--image-size must be a positive multiple of 16, got \(imageSize)")
        }
        if let width, width < 1 { throw ValidationError("--width must be at least 1, got \(width)") }
    }
}

extension Progress {
    /// "12.3 img/s"-style rate of `units` done in `seconds`.
    static func rate(_ units: Double, _ seconds: Double, unit: String) -> String {
        String(format: "%.1f", seconds > 0 ? units / seconds : 0) + " \(unit)/s"
    }
}
