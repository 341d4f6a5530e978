// A training health report as a plain record (health.json beside every
// checkpoint of `anogan train`): the numbers of AnoGAN's health check
// (TrainingHealth.assess, AnoGAN/TrainingHealth.swift), the verdicts they call
// for, and one-line warnings that name the likely cause and the fix. Here, not
// with the check, so the report stage reads it without the networks.

import Foundation

/// What the health check found. Written as health.json; `description` prints it.
public struct TrainingHealth: Codable, Equatable, Sendable {
    /// Mean |x − G(z)| per pixel after a short mapping.
    public struct Reconstruction: Codable, Equatable, Sendable {
        /// "prior" (z₁ ~ U[-1,1]) or "encoder" (z₁ = E(x)).
        public var start: String
        public var steps: Int
        /// Over the validation slice (nil when there is none) and a same-size training sample.
        public var validation: Double?
        public var training: Double
        /// validation / training (nil without a validation slice): ≫ 1 means memorisation.
        public var ratio: Double?
        /// Mean |x − mean training image| per pixel: what "reconstructing" by one fixed image achieves.
        public var meanImage: Double

        public init(start: String, steps: Int, validation: Double?, training: Double, ratio: Double?, meanImage: Double) {
            self.start = start
            self.steps = steps
            self.validation = validation
            self.training = training
            self.ratio = ratio
            self.meanImage = meanImage
        }
    }

    /// Mean pairwise L1 distance per pixel, among G(z) samples and among training images.
    public struct Diversity: Codable, Equatable, Sendable {
        public var samples: Double
        public var data: Double
        /// samples / data: ≪ 1 means mode collapse.
        public var ratio: Double

        public init(samples: Double, data: Double, ratio: Double) {
            self.samples = samples
            self.data = data
            self.ratio = ratio
        }
    }

    /// Mean σ(D(·)) over the last part of training and its least-squares slope per 1000 iterations.
    public struct Trend: Codable, Equatable, Sendable {
        public var iterations: Int
        public var dReal: Double
        public var dRealSlope: Double
        public var dFake: Double
        public var dFakeSlope: Double

        public init(iterations: Int, dReal: Double, dRealSlope: Double, dFake: Double, dFakeSlope: Double) {
            self.iterations = iterations
            self.dReal = dReal
            self.dRealSlope = dRealSlope
            self.dFake = dFake
            self.dFakeSlope = dFakeSlope
        }
    }

    /// The reconstruction error (validation, else training) of one check and its iteration.
    public struct Fit: Codable, Equatable, Sendable {
        public var iteration: Int
        public var value: Double
        public init(iteration: Int, value: Double) { (self.iteration, self.value) = (iteration, value) }
    }

    public enum Issue: String, Codable, Sendable {
        case collapsed, memorised, poorFit, discriminatorWins
    }

    public struct Warning: Codable, Equatable, Sendable {
        public var issue: Issue
        /// One line: what is wrong, its likely cause and the fix.
        public var message: String

        public init(issue: Issue, message: String) {
            self.issue = issue
            self.message = message
        }
    }

    /// Iterations of training behind this report (the loss history's length).
    public var iteration: Int
    public var reconstruction: Reconstruction
    public var diversity: Diversity
    /// nil when the loss history is empty.
    public var trend: Trend?
    /// The best fit of this run's earlier checks (carried from check to check in health.json; nil at the first).
    public var bestEarlier: Fit?
    public var warnings: [Warning]

    public init(iteration: Int, reconstruction: Reconstruction, diversity: Diversity, trend: Trend?, bestEarlier: Fit? = nil,
                warnings: [Warning]) {
        self.iteration = iteration
        self.reconstruction = reconstruction
        self.diversity = diversity
        self.trend = trend
        self.bestEarlier = bestEarlier
        self.warnings = warnings
    }

    /// This check's fit: the validation slice's reconstruction error, else the training sample's.
    public var fit: Fit { Fit(iteration: iteration, value: reconstruction.validation ?? reconstruction.training) }

    /// The best fit of this and every earlier check, for the next check's `bestEarlier`.
    public var bestSoFar: Fit { bestEarlier.map { $0.value <= fit.value ? $0 : fit } ?? fit }

    public var isHealthy: Bool { warnings.isEmpty }

    /// Too early for low sample diversity to mean a collapse: the generator has not spread out yet.
    public var isYoung: Bool { iteration < Self.youngIterations }

    /// The earlier check that fitted well when this one fits poorly (nil when none did): the GAN drifted.
    public var driftedFrom: Fit? {
        let meanImage = reconstruction.meanImage
        guard fit.value > Self.poorFitRatio * meanImage, let best = bestEarlier,
              best.value <= Self.poorFitRatio * meanImage, best.value < Self.driftRatio * fit.value else { return nil }
        return best
    }

    /// Whether the warnings call for fewer training iterations (a collapse past the first checks,
    /// memorisation, a winning discriminator, a drift) rather than more.
    public var callsForFewerIterations: Bool {
        warnings.contains { w in
            switch w.issue {
            case .collapsed: return !isYoung
            case .memorised, .discriminatorWins: return true
            case .poorFit: return driftedFrom != nil
            }
        }
    }

    /// Thresholds of the verdicts.
    public static let collapseRatio = 0.5
    public static let memorisationRatio = 1.5
    public static let poorFitRatio = 0.9
    /// An earlier fit this much better than a poor one means the GAN drifted rather than never fitted.
    public static let driftRatio = 0.8
    /// Below this many iterations, low sample diversity means an untrained generator, not a collapsed one.
    public static let youngIterations = 500
    /// Sigmoid saturation: a healthy DCGAN on the demo runs at D(x) ≈ 0.93 and D(G(z)) ≈ 0.07
    /// (its samples diverse, its scores fine), so the warning waits for D to be nearly certain.
    public static let discriminatorWinsReal = 0.98, discriminatorWinsFake = 0.02

    /// The warnings a report's numbers call for.
    public static func verdicts(_ h: TrainingHealth) -> [Warning] {
        var out: [Warning] = []
        func percent(_ x: Double) -> String { String(format: "%.0f %%", 100 * x) }
        func number(_ x: Double) -> String { String(format: "%.3g", x) }
        if h.diversity.ratio < collapseRatio {
            // A generator this young has not spread out yet; an older one has lost its spread.
            let fix = h.isYoung
                ? "after only \(h.iteration) iterations it has not learned the data yet: train longer (thousands of iterations)"
                : "train again with fewer iterations (--iterations; train keeps only its last checkpoint), or on more data / at a lower learning rate"
            out.append(Warning(issue: .collapsed, message:
                "generator collapsed: samples are \(percent(h.diversity.ratio)) as diverse as the data (mean pairwise |Δ| \(number(h.diversity.samples)) vs \(number(h.diversity.data))); anomaly scores will be meaningless or inverted — \(fix)"))
        }
        if let ratio = h.reconstruction.ratio, ratio > memorisationRatio {
            out.append(Warning(issue: .memorised, message:
                "generator memorised its training images: held-out normal images reconstruct \(String(format: "%.1f", ratio))× worse than training images (\(number(h.reconstruction.validation!)) vs \(number(h.reconstruction.training)) per pixel); normal test images will look anomalous — train fewer iterations or on more images"))
        }
        let fit = h.fit.value, meanImage = h.reconstruction.meanImage
        if fit > poorFitRatio * meanImage {
            // A GAN that fitted well at an earlier check has drifted: more training moves it further.
            let fix = h.driftedFrom.map { "they were \(number($0.value)) at iteration \($0.iteration): the GAN drifted away from the data; train fewer iterations (about \($0.iteration)), not longer" }
                ?? "train longer, or check the images' range ([-1, 1]) and size"
            out.append(Warning(issue: .poorFit, message:
                "generator does not fit the data: reconstructions (\(number(fit)) per pixel) are barely better than the mean training image (\(number(meanImage))); \(fix)"))
        }
        if let t = h.trend, t.dReal > discriminatorWinsReal, t.dFake < discriminatorWinsFake {
            out.append(Warning(issue: .discriminatorWins, message:
                "discriminator wins: over the last \(t.iterations) iterations D(x) ≈ \(String(format: "%.2f", t.dReal)) and D(G(z)) ≈ \(String(format: "%.2f", t.dFake)), so G learns little and collapse tends to follow; train fewer iterations or lower D's learning rate"))
        }
        return out
    }

    // MARK: Output

    /// Writes the report as pretty JSON, atomically.
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).writeAtomically(to: url)
    }

    /// Reads a report written by `write`.
    public static func read(_ url: URL) throws -> TrainingHealth {
        do { return try JSONDecoder().decode(TrainingHealth.self, from: readFile(url)) } catch let e as FileError { throw e } catch {
            throw FileError(url, "not a training health report: \(error)")
        }
    }
}

extension TrainingHealth: CustomStringConvertible {
    /// A few lines: the numbers, then "OK" or one "WARNING: …" line per issue.
    public var description: String {
        func f(_ x: Double) -> String { String(format: "%.4g", x) }
        let r = reconstruction, d = diversity
        var lines = ["health after \(iteration) iterations:"]
        lines.append("  reconstruction (\(r.steps) mapping steps from the \(r.start)): validation \(r.validation.map(f) ?? "–"), training \(f(r.training)), ratio \(r.ratio.map(f) ?? "–"), mean-image baseline \(f(r.meanImage))")
        lines.append("  diversity: samples \(f(d.samples)), data \(f(d.data)), ratio \(f(d.ratio))")
        if let b = bestEarlier { lines.append("  best earlier fit: \(f(b.value)) at iteration \(b.iteration)") }
        if let t = trend {
            lines.append("  last \(t.iterations) iterations: D(x) \(f(t.dReal)) (slope \(f(t.dRealSlope))/1000 it), D(G(z)) \(f(t.dFake)) (slope \(f(t.dFakeSlope))/1000 it)")
        }
        lines += warnings.isEmpty ? ["  OK"] : warnings.map { "  WARNING: \($0.message)" }
        return lines.joined(separator: "\n")
    }
}
