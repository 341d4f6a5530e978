// `anogan speed`: times the paper's full-size model (or any DCGANConfig) on
// this machine — G forward, D forward, one training step, one mapping step —
// as the median of several runs after warm-up. The team compares these
// numbers with scripts/bench_pytorch.py, which times the identical PyTorch model.

import Foundation
import NeuralNet
import Records

/// What to time.
public struct BenchmarkSettings: Codable, Equatable, Sendable {
    public var config: DCGANConfig = .paper
    public var batch: Int = 64
    /// Timed runs per measurement (the median is reported).
    public var iterations: Int = 10
    /// Untimed runs before timing (primitive creation, caches).
    public var warmup: Int = 2
    /// oneDNN/OpenMP threads; nil keeps the default (OMP_NUM_THREADS or all cores).
    public var threads: Int?
    public var seed: UInt64 = 0
    /// Precision of every convolution timed (Precision).
    public var precision: Precision = .default

    public init() {}
}

/// One measurement: median milliseconds, images per second and nominal GFLOP/s (from the median),
/// and the fastest run (the best estimate of the cost when the machine is shared).
public struct BenchmarkTiming: Codable, Equatable, Sendable {
    public var milliseconds: Double
    public var fastestMilliseconds: Double
    public var imagesPerSecond: Double
    public var gflops: Double
}

/// All measurements of one benchmark run.
public struct BenchmarkResult: Sendable {
    public var threads: Int
    public var batch: Int
    public var config: DCGANConfig
    public var oneDNN: String
    public var precision: Precision
    public var generatorForward: BenchmarkTiming
    public var discriminatorForward: BenchmarkTiming
    public var trainingStep: BenchmarkTiming
    public var mappingStep: BenchmarkTiming
    /// Scoring one batch from the encoder start with Γ = 0: E(x), then G(E(x)) and D's features of x
    /// and G(E(x)) in inference mode (the f-AnoGAN izi_f score).
    public var encoderScore: BenchmarkTiming
    /// oneDNN primitives that fell back to slow `ref:*` kernels (should be empty).
    public var referenceKernels: [String]
    /// Peak resident set of the process (bytes) from its start through the end of each stage, in order:
    /// setup (data), G forward, D forward, training step, mapping step, encoder score; empty where Linux's
    /// /proc is missing. Each stage frees its networks, so the stage that raises it is the one that needs
    /// the memory; the last is the run's peak, what `/usr/bin/time -v` reports.
    public var peakResidentBytes: [(stage: String, bytes: Int)] = []

    /// One JSON object (keys: threads, batch, g_forward_ms, d_forward_ms, train_step_ms, map_step_ms, …).
    public var json: String {
        var o: [String: Any] = [
            "threads": threads, "batch": batch, "onednn": oneDNN, "ref_kernels": referenceKernels, "precision": precision.rawValue,
            "latent": config.latentDimension, "image_size": config.imageSize, "width": config.width, "channels": config.channels,
        ]
        for (key, t) in [("g_forward", generatorForward), ("d_forward", discriminatorForward), ("train_step", trainingStep), ("map_step", mappingStep)] {
            o["\(key)_ms"] = (t.milliseconds * 1000).rounded() / 1000
            o["\(key)_min_ms"] = (t.fastestMilliseconds * 1000).rounded() / 1000
            o["\(key)_images_per_s"] = (t.imagesPerSecond * 10).rounded() / 10
            o["\(key)_gflops"] = (t.gflops * 10).rounded() / 10
        }
        o["encoder_score_ms"] = (encoderScore.milliseconds * 1000).rounded() / 1000
        for (stage, bytes) in peakResidentBytes { o["peak_rss_through_\(stage)_mb"] = (Double(bytes) / 1e5).rounded() / 10 }
        if let last = peakResidentBytes.last { o["peak_rss_mb"] = (Double(last.bytes) / 1e5).rounded() / 10 }
        for start in scoringRates { o["score_\(start.key)_images_per_s"] = (start.imagesPerSecond * 100).rounded() / 100 }
        let data = try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    /// A small human-readable table.
    public var table: String {
        var lines = ["oneDNN \(oneDNN), \(threads) threads, batch \(batch), image \(config.imageSize)×\(config.imageSize), width \(config.width), \(precision.rawValue)",
                     "step             median ms  fastest ms    images/s   GFLOP/s"]
        for (name, t) in [("G forward", generatorForward), ("D forward", discriminatorForward), ("training step", trainingStep), ("mapping step", mappingStep)] {
            lines.append(name.padding(toLength: 16, withPad: " ", startingAt: 0)
                + String(format: "%10.1f %11.1f %11.1f %9.1f", t.milliseconds, t.fastestMilliseconds, t.imagesPerSecond, t.gflops))
        }
        lines.append("scoring images/s by start (from the medians): "
                     + scoringRates.map { "\($0.label) \(String(format: "%.2f", $0.imagesPerSecond))" }.joined(separator: ", "))
        if !peakResidentBytes.isEmpty {
            lines.append("peak resident MB through each stage: "
                         + peakResidentBytes.map { "\($0.stage) \(String(format: "%.0f", Double($0.bytes) / 1e6))" }.joined(separator: ", "))
        }
        if !referenceKernels.isEmpty { lines.append("warning: slow reference kernels: \(referenceKernels.joined(separator: "; "))") }
        return lines.joined(separator: "\n")
    }
}

extension BenchmarkResult {
    /// Images per second of scoring with each start: the paper's Γ = 500 steps from the prior,
    /// the encoder score alone (Γ = 0) and 20 refinement steps from E(x) (the mapping's own
    /// forward/backward passes dominate; the one D pass over the queries is left out of all three).
    public var scoringRates: [(key: String, label: String, imagesPerSecond: Double)] {
        let step = mappingStep.milliseconds, once = encoderScore.milliseconds, n = Double(batch)
        return [("prior_500", "prior Γ=500", n / (500 * step) * 1000),
                ("encoder_0", "encoder Γ=0", n / once * 1000),
                ("encoder_20", "encoder Γ=20", n / (once + 20 * step) * 1000)]
    }
}

public enum Benchmark {
    /// Nominal forward FLOPs (multiply-adds × 2) per image of G and D.
    static func forwardFLOPs(_ c: DCGANConfig) -> (generator: Double, discriminator: Double) {
        let s = c.baseSize, top = c.ladder.last!
        let ch = c.ladder.reversed() + [c.channels]
        var g = 2.0 * Double(c.latentDimension * top * s * s)
        var side = s
        for i in 0..<4 { g += 2 * Double(side * side * ch[i] * ch[i + 1] * 25); side *= 2 }
        var d = 2.0 * Double(top * s * s)
        let dch = [c.channels] + c.ladder
        side = c.imageSize / 2
        for i in 0..<4 { d += 2 * Double(side * side * dch[i] * dch[i + 1] * 25); side /= 2 }
        return (g, d)
    }

    /// Runs all four measurements.
    public static func run(_ settings: BenchmarkSettings) -> BenchmarkResult {
        if let t = settings.threads { Threads.set(t) }  // before the first primitive exists
        let c = settings.config, n = settings.batch
        // Each stage gets its own G and D (the same weights, drawn from the seed), freed when it ends: a layer
        // keeps the buffers of every batch layout and mode it has run (so that the next call allocates nothing),
        // and the stages stand for separate runs (sampling, training, scoring), which never hold each other's.
        func networks() -> (generator: Generator, discriminator: Discriminator) {
            var rng = SeededGenerator(seed: settings.seed)
            let g = Generator(config: c, precision: settings.precision), d = Discriminator(config: c, precision: settings.precision)
            g.initialize(using: &rng)
            d.initialize(using: &rng)
            return (g, d)
        }
        var rng = SeededGenerator(seed: settings.seed, stream: "data")
        let real = Tensor.uniform(shape: [n, c.channels, c.imageSize, c.imageSize], low: -1, high: 1, using: &rng)
        let z = Tensor.uniform(shape: [n, c.latentDimension], low: -1, high: 1, using: &rng)
        let zIn = TensorWrapper().wrap(z), xIn = TensorWrapper().wrap(real)
        let flops = forwardFLOPs(c)
        // The peak so far after each stage (not restarted per stage: that would also restart what
        // getrusage and `/usr/bin/time -v` report).
        var peaks: [(stage: String, bytes: Int)] = []
        func stageEnded(_ stage: String) {
            ProcessMemory.trim()  // what the stage's networks freed goes back to the system, not to the next stage's peak
            if let bytes = ProcessMemory.peakResident { peaks.append((stage, bytes)) }
        }
        stageEnded("setup")

        func time(_ body: () -> Void) -> (median: Double, fastest: Double) {
            for _ in 0..<settings.warmup { body() }
            var ms: [Double] = []
            for _ in 0..<max(settings.iterations, 1) {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                ms.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6)
            }
            ms.sort()
            return (ms.count % 2 == 1 ? ms[ms.count / 2] : (ms[ms.count / 2 - 1] + ms[ms.count / 2]) / 2, ms[0])
        }
        func timing(_ t: (median: Double, fastest: Double), _ flopsPerImage: Double) -> BenchmarkTiming {
            BenchmarkTiming(milliseconds: t.median, fastestMilliseconds: t.fastest, imagesPerSecond: Double(n) / t.median * 1000,
                            gflops: flopsPerImage * Double(n) / t.median / 1e6)
        }

        // Forward passes in inference mode (sampling, scoring).
        let gf = { let (g, _) = networks(); return time { _ = g.forward(zIn, training: false) } }()
        stageEnded("g_forward")
        let df = { let (_, d) = networks(); return time { _ = d.forward(xIn, training: false, logits: true) } }()
        stageEnded("d_forward")
        // Training: D forward ×3, backward (data + weights) ×2, backward data ×1; G forward, backward (data + weights).
        let ts = {
            let (g, d) = networks()
            let step = GANTrainingStep(generator: g, discriminator: d)
            return time { _ = step.step(real: real, z: z) }
        }()
        stageEnded("train_step")
        // Mapping: G and D forward, backward data only.
        let ms = {
            let (g, d) = networks()
            let mapping = LatentMappingStep(generator: g, discriminator: d, loss: .featureMatching)
            mapping.reset(queries: real, z: z)
            return time { _ = mapping.step() }
        }()
        stageEnded("map_step")
        // Encoder start, Γ = 0: E(x), then the scores of G(E(x)) in one forward pass.
        let es = {
            let (g, d) = networks()
            let encoder = try! LatentEncoder(generator: g, discriminator: d)
            let mapper = try! LatentMapper(generator: g, discriminator: d, settings: MappingSettings(steps: 0, batchSize: n))
            return time { _ = try! mapper.evaluate(real, at: encoder.encode(real, batchSize: n), loss: .featureMatching) }
        }()
        stageEnded("encoder_score")

        return BenchmarkResult(
            threads: Threads.count, batch: n, config: c, oneDNN: Threads.oneDNNVersion, precision: settings.precision,
            generatorForward: timing(gf, flops.generator), discriminatorForward: timing(df, flops.discriminator),
            trainingStep: timing(ts, 8 * flops.discriminator + 3 * flops.generator),
            mappingStep: timing(ms, 2 * flops.discriminator + 2 * flops.generator),
            encoderScore: timing(es, 3 * flops.discriminator + flops.generator),
            referenceKernels: DNNL.referenceImplementations, peakResidentBytes: peaks)
    }
}
