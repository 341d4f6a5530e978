// The one-command demo: the paper's whole experiment on synthetic OCT.
// phantom volumes → patch sets (healthy training patches; test patches from
// held-out healthy and diseased volumes, labelled by their masks) → AnoGAN
// training (with its health report), the izi_f encoder for the trained GAN, and
// aCAE training → scoring (the paper's feature-matching mapping from the prior
// R, D, A; the reference mapping R̂, D̂, Â of GAN_R; P_D; the mapping started
// from E(x); the encoder score alone; the aCAE; normal training patches for
// Fig. 4 c,d) → whole-B-scan anomaly maps and marker candidates of the diseased
// test volumes (`anogan scan`, from E(x)) → evaluation and the HTML report,
// the scan as its last section. Every stage calls the
// library that owns it, training and scoring through the use cases
// (trainOrResume, scoreAndWrite); a stage whose outputs exist for the same
// settings is skipped, and an interrupted AnoGAN training resumes from its checkpoint.

import AnoGAN
import Evaluation
import Foundation
import Imaging
import NeuralNet
import Records
import Report

/// The directory layout of a demo run.
public struct DemoLayout: Sendable {
    public let root: URL
    public init(root: URL) { self.root = root }

    public var settings: URL { root.appendingPathComponent("demo.json") }
    public var phantoms: URL { root.appendingPathComponent("phantoms") }
    public var trainingPatches: URL { root.appendingPathComponent("patches/train") }
    public var testPatches: URL { root.appendingPathComponent("patches/test") }
    /// The subset of training patches that is scored (Fig. 4 c,d; Fig. 3 first block).
    public var scoredTrainingPatches: URL { root.appendingPathComponent("patches/train-scored") }
    public var anoganTraining: TrainingOutput { TrainingOutput(directory: root.appendingPathComponent("anogan")) }
    /// The izi_f encoder sits beside the GAN's checkpoint, where `score --start encoder` looks for it.
    public var encoderTraining: EncoderTrainingOutput { EncoderTrainingOutput(directory: root.appendingPathComponent("anogan")) }
    public var acaeTraining: ACAETrainingOutput { ACAETrainingOutput(directory: root.appendingPathComponent("acae")) }
    public var acaeCheckpoint: URL { acaeTraining.checkpoint }
    public var anoganScores: URL { root.appendingPathComponent("scores/anogan") }
    /// The mapping started from E(x), `refinementSteps` steps.
    public var encoderStartScores: URL { root.appendingPathComponent("scores/anogan-encoder") }
    /// The encoder score alone (Γ = 0).
    public var encoderOnlyScores: URL { root.appendingPathComponent("scores/izif") }
    public var acaeScores: URL { root.appendingPathComponent("scores/acae") }
    public var trainingScores: URL { root.appendingPathComponent("scores/training") }
    /// `anogan scan` of the diseased test volumes.
    public var scan: URL { root.appendingPathComponent("scan") }
    public var report: URL { root.appendingPathComponent("report/report.html") }
    public var metrics: URL { root.appendingPathComponent("report/metrics.json") }
    fileprivate func marker(_ stage: String) -> URL { root.appendingPathComponent(".stages/\(stage).json") }
}

/// What the demo found: the evaluation behind the report, and where things are.
public struct DemoResult {
    public var layout: DemoLayout
    public var evaluation: EvaluationResult
    public var seconds: Double
    /// Stages skipped because their outputs were already there.
    public var skipped: [String]
}

public enum Demo {
    /// Runs (or resumes) the demo in `directory`. `log` receives one line per event;
    /// progress bars go to standard error.
    public static func run(settings: DemoSettings, directory: URL, log: @escaping (String) -> Void = { print($0); fflush(stdout) }) throws -> DemoResult {
        var settings = settings
        settings.precision = settings.resolvedPrecision  // recorded explicitly in demo.json and the stage markers
        try settings.validate()
        let start = Date()
        let layout = DemoLayout(root: directory)
        log("anogan demo: the report will be written to \(layout.report.path)")
        log("settings: seed \(settings.seed), \(settings.imageSize)×\(settings.imageSize) patches, width \(settings.width), "
            + "\(settings.ganIterations) GAN iterations" + (settings.generatorAverageDecay.map { " (G averaged, decay \($0))" } ?? "")
            + (settings.realLabel.map { ", real label \($0)" } ?? "")
            + ", \(settings.acaeEpochs) aCAE epochs, Γ = \(settings.mappingSteps) mapping steps"
            + (MappingSettings.priorChoice(settings.priorCandidates).map { " (\($0))" } ?? "") + ", "
            + "\(settings.resolvedPrecision.rawValue), threads \(Threads.count)")
        do { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw FileError(directory, "cannot create the demo directory: \(error.localizedDescription)")
        }
        try Data(jsonString(settings).utf8).writeAtomically(to: layout.settings)
        var skipped: [String] = []
        let stages: [(name: String, after: [String], products: [URL], run: () throws -> Void)] = [
            ("patches", [], [layout.trainingPatches, layout.testPatches, layout.scoredTrainingPatches], { try makePatches(settings, layout, log) }),
            ("anogan-training", ["patches"], [layout.anoganTraining.checkpoint], { try trainAnoGAN(settings, layout, log) }),
            ("encoder-training", ["anogan-training"], [layout.encoderTraining.checkpoint], { try trainEncoder(settings, layout, log) }),
            ("acae-training", ["patches"], [layout.acaeCheckpoint], { try trainACAE(settings, layout, log) }),
            ("anogan-scores", ["anogan-training"], [layout.anoganScores, layout.trainingScores], { try scoreAnoGAN(settings, layout, log) }),
            ("encoder-scores", ["encoder-training"], [layout.encoderOnlyScores, layout.encoderStartScores], { try scoreFromEncoder(settings, layout, log) }),
            ("acae-scores", ["acae-training"], [layout.acaeScores], { try scoreACAE(settings, layout, log) }),
            ("scan", ["encoder-scores"], [layout.scan.appendingPathComponent(ScanFiles.page)], { try scanDiseased(settings, layout, log) }),
        ]
        // A stage runs when its settings changed, its outputs are missing, or a stage it reads from ran.
        var ran: Set<String> = []
        for (index, stage) in stages.enumerated() {
            if stage.after.allSatisfy({ !ran.contains($0) }), isDone(stage.name, settings, layout),
               stage.products.allSatisfy({ FileManager.default.fileExists(atPath: $0.path) }) {
                log("[\(index + 1)/\(stages.count + 1)] \(stage.name): already done for these settings, skipped")
                skipped.append(stage.name)
                continue
            }
            log("[\(index + 1)/\(stages.count + 1)] \(stage.name)")
            ran.insert(stage.name)
            try? FileManager.default.removeItem(at: layout.marker(stage.name))
            let t0 = Date()
            try stage.run()
            try markDone(stage.name, settings, layout)
            log(String(format: "    %@ done in %.1f s", stage.name, Date().timeIntervalSince(t0)))
        }
        log("[\(stages.count + 1)/\(stages.count + 1)] report")
        let scan = try ScanReport.read(from: layout.scan)
        let evaluation = try writeReport(settings, layout, scan: scan)
        for row in evaluation.table1 {
            log("    " + row.model.padding(toLength: 18, withPad: " ", startingAt: 0)
                + String(format: "AUC %.3f [%.3f, %.3f]  sensitivity %.3f specificity %.3f",
                       row.auc, row.confidenceInterval.lower, row.confidenceInterval.upper,
                       row.youden.sensitivity, row.youden.specificity))
        }
        for column in ["R", "D", "D_hat"] {
            if let e = evaluation.score(run: ScoreReference.mainRun, column: column) {
                log("    " + column.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: "AUC %.3f", e.auc))
            }
        }
        for (run, pixel) in evaluation.pixelAUROCByRun.sorted(by: { $0.key < $1.key }) {
            log(String(format: "    pixel AUROC %.3f (raw residual %.3f), run %@", pixel, evaluation.rawPixelAUROCByRun[run] ?? .nan, run))
        }
        if let e = scan.evaluation {
            log(String(format: "    whole B-scans of the %d diseased test volumes (%@): pixel AUROC %.3f, Dice %.3f at the Youden cut-off; %d marker candidates",
                       scan.volumes.count, layout.scan.path, e.pixelAUROC ?? .nan, e.dice ?? .nan, scan.markers.count))
        }
        let seconds = Date().timeIntervalSince(start)
        log(String(format: "demo finished in %.1f s; report: %@", seconds, layout.report.path))
        return DemoResult(layout: layout, evaluation: evaluation, seconds: seconds, skipped: skipped)
    }

    // MARK: Stages

    private static func phantomSettings(_ s: DemoSettings, diseased: Bool) -> OCTPhantomSettings {
        OCTPhantomSettings(width: s.phantomWidth, height: s.phantomHeight, bscans: s.bscans,
                           spacingX: 6000.0 / Double(s.phantomWidth), spacingZ: 3.87 * 496 / Double(s.phantomHeight),
                           spacingY: 120, diseased: diseased)
    }

    /// Phantom volumes (written to phantoms/ for inspection) and the training and test patch sets.
    private static func makePatches(_ s: DemoSettings, _ layout: DemoLayout, _ log: (String) -> Void) throws {
        let kinds: [(name: String, diseased: Bool, training: Bool)] =
            (0..<s.trainingVolumes).map { (String(format: "healthy_train_%03d", $0), false, true) }
            + (0..<s.testHealthyVolumes).map { (String(format: "healthy_test_%03d", $0), false, false) }
            + (0..<s.testDiseasedVolumes).map { (String(format: "diseased_test_%03d", $0), true, false) }
        var training = OCTPatchCollector(size: s.imageSize), test = OCTPatchCollector(size: s.imageSize)
        var trainRNG = SeededGenerator(seed: s.seed), testRNG = SeededGenerator(seed: s.seed &+ 1)
        let progress = Records.Progress("phantoms + patches", total: kinds.count, unit: "vol")
        for (i, kind) in kinds.enumerated() {
            let phantom = OCTPhantom.generate(phantomSettings(s, diseased: kind.diseased), seed: s.seed &+ 100 &+ UInt64(i))
            try phantom.write(to: layout.phantoms, name: kind.name, png: false)
            let prep = OCTPreprocessingSettings(patchSize: s.imageSize,
                                                patchesPerBScan: kind.training ? s.trainingPatchesPerBScan : s.testPatchesPerBScan)
            if kind.training {
                try OCTPreprocessing.addPatches(from: phantom.volume, mask: nil, name: kind.name, settings: prep,
                                                unmaskedLabel: 0, using: &trainRNG, into: &training)
            } else {
                try OCTPreprocessing.addPatches(from: phantom.volume, mask: phantom.maskVolume, name: kind.name, settings: prep,
                                                unmaskedLabel: 0, using: &testRNG, into: &test)
            }
            progress.update(i + 1, detail: kind.name)
        }
        var manifest = OCTPreprocessingSettings(patchSize: s.imageSize).manifest
        manifest["protocol"] = "oct-phantom-demo"
        let trainSet = training.patchSet(settings: manifest, seed: s.seed)
        var selectionRNG = SeededGenerator(seed: s.seed &+ 2)
        let testSet = limitNormals(test.patchSet(settings: manifest, seed: s.seed &+ 1), to: s.testNormalLimit, using: &selectionRNG)
        let anomalous = testSet.labels?.filter { $0 == 1 }.count ?? 0
        guard anomalous > 0, anomalous < testSet.count else {
            throw DemoError("the test patches hold \(anomalous) anomalous of \(testSet.count); need both kinds (more diseased volumes or patches)")
        }
        try trainSet.save(to: layout.trainingPatches)
        try testSet.save(to: layout.testPatches)
        // The first trainingScoreCount training patches, as their own set (the report shows them with their scores).
        try trainSet.selecting(Array(0..<min(s.trainingScoreCount, trainSet.count))).save(to: layout.scoredTrainingPatches)
        log("    \(trainSet.count) training patches; \(testSet.count) test patches (\(anomalous) anomalous, \(testSet.count - anomalous) normal)")
    }

    /// Every anomalous patch and a seeded random choice of at most `limit` normal ones, in their original order.
    static func limitNormals(_ set: PatchSet, to limit: Int, using rng: inout SeededGenerator) -> PatchSet {
        let labels = set.labels ?? Array(repeating: 0, count: set.count)
        var normals = labels.indices.filter { labels[$0] != 1 }
        guard normals.count > limit else { return set }
        normals.shuffle(using: &rng)
        return set.selecting((labels.indices.filter { labels[$0] == 1 } + normals.prefix(limit)).sorted())
    }

    private static func trainAnoGAN(_ s: DemoSettings, _ layout: DemoLayout, _ log: (String) -> Void) throws {
        let output = layout.anoganTraining
        try trainOrResume(try ImageInput.load(layout.trainingPatches), config: s.architecture,
                          settings: TrainingSettings(batchSize: s.batchSize, seed: s.seed, iterations: s.ganIterations,
                                                     validationFraction: TrainingSettings.defaultValidationFraction,
                                                     generatorAverageDecay: s.generatorAverageDecay, realLabel: s.realLabel,
                                                     precision: s.resolvedPrecision),
                          output: output, resume: .whenSameRun, log: { log("    " + $0) })
        log("    checkpoint \(output.checkpoint.path), samples in \(output.directory.appendingPathComponent("samples").path)")
    }

    /// The izi_f encoder for the trained GAN (G and D frozen), written beside its checkpoint.
    private static func trainEncoder(_ s: DemoSettings, _ layout: DemoLayout, _ log: @escaping (String) -> Void) throws {
        let output = layout.encoderTraining
        try? FileManager.default.removeItem(at: output.checkpoint)  // this stage reruns only when its inputs changed
        try Workflows.trainEncoder(gan: layout.anoganTraining.checkpoint, data: layout.trainingPatches,
                                   settings: EncoderTrainingSettings(iterations: s.encoderIterations, batchSize: s.batchSize, seed: s.seed,
                                                                     precision: s.resolvedPrecision),
                                   output: output, resume: .fresh, log: { log("    " + $0) })
    }

    private static func trainACAE(_ s: DemoSettings, _ layout: DemoLayout, _ log: @escaping (String) -> Void) throws {
        try? FileManager.default.removeItem(at: layout.acaeTraining.checkpoint)  // this stage reruns only when its inputs changed
        try trainAutoencoder(try ImageInput.load(layout.trainingPatches), config: s.architecture,
                             settings: ACAESettings(epochs: s.acaeEpochs, batchSize: s.batchSize, seed: s.seed, precision: s.resolvedPrecision),
                             output: layout.acaeTraining, log: { log("    " + $0) })
    }

    /// Both mappings on the test patches, then the feature mapping on the scored training patches.
    private static func scoreAnoGAN(_ s: DemoSettings, _ layout: DemoLayout, _ log: (String) -> Void) throws {
        let checkpoint = layout.anoganTraining.checkpoint
        for (what, patches, out, variant) in [("test", layout.testPatches, layout.anoganScores, MappingVariant.both),
                                              ("training", layout.scoredTrainingPatches, layout.trainingScores, .featureMatching)] {
            let settings = ScoringSettings(mapping: MappingSettings(steps: s.mappingSteps, batchSize: 256, precision: s.resolvedPrecision,
                                                                    priorCandidates: s.priorCandidates),
                                           variant: variant, seed: s.seed)
            let (scorer, _) = try latentMappingScorer(checkpoint: checkpoint, settings: settings)
            let input = try ImageInput.load(patches)
            let result = try scoreAndWrite(scorer, input: input, checkpoint: checkpoint, to: out,
                                           options: ScoreRunOptions(trace: true), label: "mapping \(what) patches")
            log(String(format: "    %@: %d patches × %d mapping(s) in %.1f s → %@", what, input.count, variant.losses.count,
                       result.seconds, out.path))
        }
    }

    /// The test patches from z₁ = E(x): the encoder score alone (Γ = 0) and the paper's mapping
    /// refined for `refinementSteps` steps from there.
    private static func scoreFromEncoder(_ s: DemoSettings, _ layout: DemoLayout, _ log: (String) -> Void) throws {
        let checkpoint = layout.anoganTraining.checkpoint
        let input = try ImageInput.load(layout.testPatches)
        for (what, steps, out) in [("encoder score alone", 0, layout.encoderOnlyScores),
                                   ("mapping from E(x)", s.refinementSteps, layout.encoderStartScores)] {
            let settings = ScoringSettings(mapping: MappingSettings(steps: steps, batchSize: 256, adam: LatentStart.encoder.defaultAdam,
                                                                    precision: s.resolvedPrecision), variant: .both, seed: s.seed,
                                           start: .encoder)
            let (scorer, _) = try latentMappingScorer(checkpoint: checkpoint, settings: settings, encoder: layout.encoderTraining.checkpoint)
            let result = try scoreAndWrite(scorer, input: input, checkpoint: checkpoint, to: out,
                                           options: ScoreRunOptions(trace: steps > 0), label: what)
            log(String(format: "    %@ (Γ = %d): %d patches in %.1f s → %@", what, steps, input.count, result.seconds, out.path))
        }
    }

    /// Whole B-scans of the diseased test volumes, as `anogan scan` does them: tiles every half tile, the mapping
    /// from E(x) refined for `refinementSteps`, markers above the Youden cut-off of the E-start run's pixels
    /// (annotated = any mask class, as the test patches' labels).
    private static func scanDiseased(_ s: DemoSettings, _ layout: DemoLayout, _ log: @escaping (String) -> Void) throws {
        var settings = ScanSettings()
        settings.scoring = ScoringSettings(mapping: MappingSettings(steps: s.refinementSteps, batchSize: 256, adam: LatentStart.encoder.defaultAdam,
                                                                    precision: s.resolvedPrecision), seed: s.seed, start: .encoder)
        settings.threshold = .youdenOfRun(layout.encoderStartScores)
        let volumes = (0..<s.testDiseasedVolumes).map {
            OCTInput.volume(layout.phantoms.appendingPathComponent(String(format: "diseased_test_%03d.mha", $0)), mask: nil)
        }
        try scanWithCheckpoint(layout.anoganTraining.checkpoint, encoder: layout.encoderTraining.checkpoint, inputs: volumes,
                               settings: settings, output: layout.scan, log: { log("    " + $0) })
    }

    private static func scoreACAE(_ s: DemoSettings, _ layout: DemoLayout, _ log: (String) -> Void) throws {
        let scorer = AutoencoderScorer(model: try AdversarialAutoencoder.load(from: layout.acaeCheckpoint))
        let input = try ImageInput.load(layout.testPatches)
        let result = try scoreAndWrite(scorer, input: input, checkpoint: layout.acaeCheckpoint, to: layout.acaeScores,
                                       label: "aCAE scoring")
        log(String(format: "    %d patches in %.1f s → %@", input.count, result.seconds, layout.acaeScores.path))
    }

    /// Evaluates the runs and writes report.html with metrics.json beside it (always redone: it is cheap).
    private static func writeReport(_ s: DemoSettings, _ layout: DemoLayout, scan: ScanReport.Page) throws -> EvaluationResult {
        let runs = [
            try NamedScoreRun.load(name: ScoreReference.mainRun, directory: layout.anoganScores, patches: layout.testPatches),
            try NamedScoreRun.load(name: ScoreReference.encoderStartRun, directory: layout.encoderStartScores, patches: layout.testPatches),
            try NamedScoreRun.load(name: ScoreReference.encoderOnlyRun, directory: layout.encoderOnlyScores, patches: layout.testPatches),
            try NamedScoreRun.load(name: ScoreReference.acaeRun, directory: layout.acaeScores, patches: layout.testPatches),
        ]
        let training = try NamedScoreRun.load(name: "training", directory: layout.trainingScores, patches: layout.scoredTrainingPatches)
        var settings = ReportSettings()
        settings.evaluation.seed = s.seed
        return try HTMLReport.write(runs: runs, training: training, settings: settings,
                                    sections: [try ScanReport.reportSection(scan, in: layout.scan)], to: layout.report)
    }

    // MARK: Stage markers

    /// The settings a stage's outputs depend on (directly or through the stages before it);
    /// the others are reset so that changing them does not invalidate the stage.
    static func relevant(_ stage: String, _ s: DemoSettings) -> DemoSettings {
        var k = s
        let d = DemoSettings.standard
        func drop(_ paths: [WritableKeyPath<DemoSettings, Int>]) { for p in paths { k[keyPath: p] = d[keyPath: p] } }
        if stage == "patches" || stage.hasPrefix("acae") {
            k.generatorAverageDecay = d.generatorAverageDecay
            k.realLabel = d.realLabel
        }
        if stage != "anogan-scores" { k.priorCandidates = d.priorCandidates }
        // Every model stage computes in the run's precision; the patches do not depend on it.
        k.precision = stage == "patches" ? nil : s.resolvedPrecision
        switch stage {
        case "patches": drop([\.width, \.batchSize, \.ganIterations, \.acaeEpochs, \.mappingSteps, \.encoderIterations, \.refinementSteps])
        case "anogan-training": drop([\.acaeEpochs, \.mappingSteps, \.encoderIterations, \.refinementSteps])
        case "anogan-scores": drop([\.acaeEpochs, \.encoderIterations, \.refinementSteps])
        case "encoder-training": drop([\.acaeEpochs, \.mappingSteps, \.refinementSteps])
        case "encoder-scores", "scan": drop([\.acaeEpochs, \.mappingSteps])
        default: drop([\.ganIterations, \.mappingSteps, \.encoderIterations, \.refinementSteps])  // the aCAE stages
        }
        return k
    }

    private static func isDone(_ stage: String, _ s: DemoSettings, _ layout: DemoLayout) -> Bool {
        guard let data = try? Data(contentsOf: layout.marker(stage)),
              let recorded = try? JSONDecoder().decode(DemoSettings.self, from: data) else { return false }
        // A marker from before a setting existed holds nil for it; projecting it again gives settings
        // the stage ignores their current values, and precision its default.
        return relevant(stage, recorded) == relevant(stage, s)
    }

    private static func markDone(_ stage: String, _ s: DemoSettings, _ layout: DemoLayout) throws {
        try FileManager.default.createDirectory(at: layout.marker(stage).deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(jsonString(relevant(stage, s)).utf8).writeAtomically(to: layout.marker(stage))
    }

    static func jsonString<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}

extension PatchSet {
    /// The patches at `indices` (in that order), with their labels, masks, sources, ids and geometry.
    func selecting(_ indices: [Int]) -> PatchSet { subset(indices) }
}
