// Flags shared by several subcommands: threads, the model size, settings files,
// and the translation of the library's setting names into this command's flags.
import AnoGAN
import ArgumentParser
import Foundation
import NeuralNet
import Records
import Workflows

/// Throws the usage error "FLAG must be in LO…HI, got V" unless `value` (when given) lies in `range`.
func requireRange<T: Comparable>(_ value: T?, _ range: ClosedRange<T>, _ flag: String) throws {
    if let value, !range.contains(value) {
        throw ValidationError("\(flag) must be in \(range.lowerBound)…\(range.upperBound), got \(value)")
    }
}

/// `--prior-candidates K`: K in range, and only where the mapping starts from the prior
/// (`start`, or the command's `defaultStart` when the flag is absent).
func requirePriorCandidates(_ k: Int?, start: LatentStart?, defaultStart: LatentStart) throws {
    try requireRange(k, 1...Limits.priorCandidates, "--prior-candidates")
    if k != nil, (start ?? defaultStart) != .prior {
        throw ValidationError("--prior-candidates applies to the prior start (--start prior); the encoder start begins at E(x)")
    }
}

/// `--threads`: oneDNN/OpenMP threads, set before the first primitive runs.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads for oneDNN (default: OMP_NUM_THREADS or all cores).")
    var threads: Int?

    func validate() throws {
        try Self.check(threads)
    }

    /// At most 4 threads per core (and 16 on any machine), never beyond Records' Limits.threads.
    static var maximum: Int { min(Limits.threads, max(16, 4 * ProcessInfo.processInfo.activeProcessorCount)) }

    static func check(_ threads: Int?) throws {
        if let threads, !(1...maximum).contains(threads) {
            throw ValidationError("--threads must be in 1…\(maximum) (4 per core), got \(threads)")
        }
    }

    func apply() {
        if let threads { Threads.set(threads) }
    }
}

extension Precision: ExpressibleByArgument {}

/// `--precision f32|bf16`: the convolutions' precision (Records' Precision; nil: the settings' value, f32 by default).
/// bf16 asked for on a CPU without AVX512-BF16 is a usage error, not a silent fallback to f32.
struct PrecisionOption: ParsableArguments {
    @Option(help: "Convolution precision: f32, or bf16 mixed precision (needs AVX512-BF16; default \(Precision.default.rawValue)).")
    var precision: Precision?

    func validate() throws {
        try Self.check(precision)
    }

    /// Throws "--precision bf16 needs a CPU with AVX512-BF16, but oneDNN reports … here; use f32" when `isa` lacks it.
    static func check(_ precision: Precision?, isa: CPUISA = .effective) throws {
        guard let precision else { return }
        do { try precision.checkSupported(on: isa) } catch { throw ValidationError("--\(error)") }
    }
}

/// `--image-size` and `--width`: the DCGAN's size (DCGANConfig).
struct ArchitectureOptions: ParsableArguments {
    @Option(help: "Image size S of the model (a multiple of 16; the paper: \(DCGANConfig.paper.imageSize)).")
    var imageSize: Int?

    @Option(help: "Width w: channels of D's first convolution (the paper: \(DCGANConfig.paper.width), i.e. 512-256-128-64).")
    var width: Int?

    func validate() throws {
        if let imageSize, !Limits.isModelImageSize(imageSize) {
            throw ValidationError("--image-size must be a multiple of 16 in 16…\(Limits.imageSize), got \(imageSize)")
        }
        try requireRange(width, 1...Limits.width, "--width")
    }
}

/// `--config FILE`: settings in JSON or YAML, laid over the defaults; flags given on the
/// command line override the file.
struct ConfigOption: ParsableArguments {
    @Option(help: ArgumentHelp("Settings file (JSON or YAML); flags override it. See the discussion above for its sections.",
                               valueName: "file"))
    var config: String?

    /// The defaults with the file (when given) laid over them.
    func load<Value: Codable>(_ defaults: Value) throws -> LoadedSettings<Value> {
        guard let config else { return LoadedSettings(value: defaults, keys: []) }
        return try SettingsFile.load(URL(fileURLWithPath: config), over: defaults)
    }
}

/// Runs `body`; errors that name settings come out naming this command's flags
/// (`names`: setting name or dotted path → flag). SettingsError becomes a usage error.
/// Errors about the settings file itself keep the file's names.
@discardableResult
func translatingSettingNames<T>(_ names: [String: String], config: ConfigOption, _ body: () throws -> T) throws -> T {
    func translate(_ text: String) -> String {
        var out = text
        for (setting, flag) in names.sorted(by: { $0.key.count > $1.key.count }) {
            let pattern = "(?<![\\w.-])" + NSRegularExpression.escapedPattern(for: setting) + "(?![\\w])"
            guard let regex = try? NSRegularExpression(pattern: pattern) else { continue }
            out = regex.stringByReplacingMatches(in: out, range: NSRange(out.startIndex..., in: out),
                                                 withTemplate: NSRegularExpression.escapedTemplate(for: flag))
        }
        return out
    }
    do { return try body() } catch let error as SettingsError {
        throw ValidationError(translate(error.description))
    } catch let error as FileError where error.path != config.config.map({ URL(fileURLWithPath: $0).path }) {
        throw FileError(error.path, translate(error.problem))
    }
}

/// The OCT volumes a command reads (`prepare`, `scan`): MetaImage files with optional masks,
/// directories of them, and B-scan PNG folders with optional mask folders.
struct OCTVolumeOptions: ParsableArguments {
    @Option(name: .long, help: "MetaImage OCT volume (.mha/.mhd); repeatable. A NAME_mask.mha/.mhd beside it is its mask unless --mask is given.")
    var volume: [String] = []
    @Option(name: .long, help: "Mask volume for the --volume at the same position; repeatable.")
    var mask: [String] = []
    @Option(name: .long, help: "Directory: every .mha/.mhd volume in it (not *_mask), with NAME_mask beside it as mask.")
    var volumes: [String] = []
    @Option(name: .long, help: "Folder of B-scan PNGs forming one volume; repeatable.")
    var bscanFolder: [String] = []
    @Option(name: .long, help: "Folder of mask PNGs for the --bscan-folder at the same position; repeatable.")
    var maskFolder: [String] = []

    var isEmpty: Bool { volume.isEmpty && volumes.isEmpty && bscanFolder.isEmpty }

    func validate() throws {
        guard mask.isEmpty || mask.count == volume.count else { throw ValidationError("--mask given \(mask.count) times for \(volume.count) --volume") }
        guard maskFolder.isEmpty || maskFolder.count == bscanFolder.count else {
            throw ValidationError("--mask-folder given \(maskFolder.count) times for \(bscanFolder.count) --bscan-folder")
        }
    }

    /// The inputs in flag order: volumes, then directories, then B-scan folders.
    var inputs: [OCTInput] {
        let url = { (path: String) in URL(fileURLWithPath: path) }
        return volume.indices.map { .volume(url(volume[$0]), mask: mask.isEmpty ? nil : url(mask[$0])) }
            + volumes.map { .directory(url($0)) }
            + bscanFolder.indices.map { .bscanFolder(url(bscanFolder[$0]), masks: maskFolder.isEmpty ? nil : url(maskFolder[$0])) }
    }
}
