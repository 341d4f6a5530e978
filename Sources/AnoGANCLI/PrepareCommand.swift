// `anogan prepare`: turns OCT volumes (MetaImage or B-scan PNG folders, with
// masks) into a patch set by the paper's preprocessing, or one-class data sets
// (IDX, PNG folders) into train/test patch sets. Parses flags over
// OCTPreparationSettings (file) and calls Workflows.prepare, which finds the inputs.

import ArgumentParser
import Foundation
import Imaging
import Records
import Workflows

/// The settings file of `anogan prepare` (OCT inputs).
struct PrepareConfig: Codable {
    var preparation = OCTPreparationSettings()
}

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Make a patch set: OCT preprocessing (normalise, resample, segment, flatten, patches) or a one-class data set.",
        discussion: """
        OCT: --volume FILE (MetaImage; a NAME_mask.mha/.mhd beside it is used as its mask unless --mask is given), \
        --volumes DIR (every volume in DIR with its _mask), --bscan-folder DIR (PNG B-scans, --mask-folder DIR in the same order). \
        Writes one patch set to --out. \
        Data sets: --idx DIR --normal-class C, or --train-folder DIR --test-folder LABEL=DIR…; writes --out/train and --out/test.

        --config FILE (JSON or YAML) holds any of {preparation: {preprocessing: {targetSpacingX, patchSize, patchesPerBScan, \
        segmentation: {...}, annotatedClasses}, inputSpacingX, inputSpacingZ, unmaskedLabel, seed}} for OCT inputs; flags override it.
        """)

    private static let defaults = OCTPreparationSettings()

    @Option(name: .long, help: "Output directory (a patch set; data sets get train/ and test/ inside).")
    var out: String

    @OptionGroup var oct: OCTVolumeOptions

    @Option(name: .long, help: "Column spacing after resampling, µm (default \(defaults.preprocessing.targetSpacingX), the paper's).")
    var spacingX: Double?
    @Option(name: .long, help: "Column spacing of inputs that do not state it (PNG folders), µm; 0 = leave unresampled (default \(defaults.inputSpacingX)).")
    var inputSpacingX: Double?
    @Option(name: .long, help: "Row spacing of inputs that do not state it, µm; 0 = unknown, segmentation assumes 3.87 (default \(defaults.inputSpacingZ)).")
    var inputSpacingZ: Double?
    @Option(name: .long, help: "Patch side in pixels (default \(defaults.preprocessing.patchSize)).")
    var patchSize: Int?
    @Option(name: .long, help: "Random patches per B-scan (default \(defaults.preprocessing.patchesPerBScan)).")
    var patchesPerBscan: Int?
    @Option(name: .long, help: "Label of patches from inputs without a mask: normal, anomalous or unknown (default unknown).")
    var label: String?
    @Option(name: .long, parsing: .upToNextOption,
            help: "Mask values that count as anomalous (e.g. 1 2 = the phantom's fluid, as in the paper); default: every nonzero value.")
    var maskClasses: [Int] = []
    @Option(name: .long, help: "Random seed for patch positions (default \(defaults.seed)).")
    var seed: UInt64?

    @Option(name: .long, help: "IDX data set directory (MNIST / Fashion-MNIST layout).")
    var idx: String?
    @Option(name: .long, help: "With --idx: the normal class.")
    var normalClass: Int?
    @Option(name: .long, help: "With --idx: keep the first N training images of the normal class.")
    var trainLimit: Int?
    @Option(name: .long, help: "With --idx: keep the first N test images.")
    var testLimit: Int?
    @Option(name: .long, help: ArgumentHelp("With --idx: image side (28×28 is centred on this canvas; default 32). "
                                            + "With --train-folder: fit every image to this side (larger ones shrunk by area "
                                            + "averaging, aspect kept; then centred on a black square); default: use them as they are.",
                                            valueName: "side"))
    var imageSize: Int?
    @Option(name: .long, help: "Folder of normal training PNGs.")
    var trainFolder: String?
    @Option(name: .long, help: "LABEL=DIR test folder (normal/anomalous); repeatable.")
    var testFolder: [String] = []

    @OptionGroup var configFile: ConfigOption

    func validate() throws {
        let modes = [!oct.isEmpty, idx != nil, trainFolder != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one kind of input: OCT (--volume/--volumes/--bscan-folder), --idx, or --train-folder") }
        if let patchSize, patchSize < 4 || patchSize % 2 != 0 || patchSize > Limits.imageSize {
            throw ValidationError("--patch-size must be even and in 4…\(Limits.imageSize), got \(patchSize)")
        }
        try requireRange(patchesPerBscan, 1...Limits.count, "--patches-per-bscan")
        if let spacingX, !(spacingX > 0 && spacingX <= 1e6) { throw ValidationError("--spacing-x must be positive and ≤ 1e6, got \(spacingX)") }
        for (flag, v) in [("--input-spacing-x", inputSpacingX), ("--input-spacing-z", inputSpacingZ)] {
            if let v, !(v >= 0 && v <= 1e6) { throw ValidationError("\(flag) must be in 0…1e6, got \(v)") }
        }
        for (flag, v) in [("--normal-class", normalClass), ("--train-limit", trainLimit), ("--test-limit", testLimit)] {
            if let v, !(0...100_000_000).contains(v) { throw ValidationError("\(flag) must be in 0…100000000, got \(v)") }
        }
        guard maskClasses.allSatisfy({ $0 >= 1 && $0 <= 255 }) else { throw ValidationError("--mask-classes must be values 1…255") }
        if let label, ImageFolder.label(named: label) == nil { throw ValidationError("--label must be normal, anomalous or unknown, not '\(label)'") }
        if idx != nil && normalClass == nil { throw ValidationError("--idx needs --normal-class") }
        if trainFolder != nil && testFolder.isEmpty { throw ValidationError("--train-folder needs at least one --test-folder LABEL=DIR") }
        if let imageSize {
            guard oct.isEmpty else { throw ValidationError("--image-size is for --idx and --train-folder; OCT patches take --patch-size") }
            guard Limits.isModelImageSize(imageSize) else {
                throw ValidationError("--image-size must be a multiple of 16 in 16…\(Limits.imageSize) (a side the DCGAN can have), got \(imageSize)")
            }
        }
        for t in testFolder { _ = try parseTestFolder(t) }
    }

    private func parseTestFolder(_ text: String) throws -> (label: Int, directory: URL) {
        guard let eq = text.firstIndex(of: "="), let l = ImageFolder.label(named: String(text[..<eq])), l >= 0 else {
            throw ValidationError("--test-folder '\(text)' must be LABEL=DIR with LABEL normal or anomalous")
        }
        return (l, URL(fileURLWithPath: String(text[text.index(after: eq)...])))
    }

    func run() throws {
        try translatingSettingNames(Self.flags, config: configFile) {
            try Workflows.prepare(try request(), output: URL(fileURLWithPath: out), log: { print($0) })
        }
    }

    /// Setting names in library errors → this command's flags.
    private static let flags = ["preprocessing.patchSize": "--patch-size", "preprocessing.patchesPerBScan": "--patches-per-bscan",
                                "preprocessing.targetSpacingX": "--spacing-x", "inputSpacingX": "--input-spacing-x",
                                "inputSpacingZ": "--input-spacing-z", "preprocessing.annotatedClasses": "--mask-classes",
                                "unmaskedLabel": "--label"]

    /// The flags as one preparation request (OCT settings: the file's, then the flags).
    private func request() throws -> PreparationRequest {
        if let idx {
            return .idx(directory: URL(fileURLWithPath: idx), normalClass: normalClass!, trainLimit: trainLimit, testLimit: testLimit,
                        imageSize: imageSize ?? 32)
        }
        if let trainFolder {
            return .folders(train: URL(fileURLWithPath: trainFolder), test: try testFolder.map(parseTestFolder), imageSize: imageSize)
        }
        var settings = try configFile.load(PrepareConfig()).value.preparation
        if let spacingX { settings.preprocessing.targetSpacingX = spacingX }
        if let patchSize { settings.preprocessing.patchSize = patchSize }
        if let patchesPerBscan { settings.preprocessing.patchesPerBScan = patchesPerBscan }
        if !maskClasses.isEmpty { settings.preprocessing.annotatedClasses = maskClasses.map(UInt8.init) }
        if let inputSpacingX { settings.inputSpacingX = inputSpacingX }
        if let inputSpacingZ { settings.inputSpacingZ = inputSpacingZ }
        if let label { settings.unmaskedLabel = ImageFolder.label(named: label)! }
        if let seed { settings.seed = seed }
        let inputs = oct.inputs
        return .oct(inputs, settings)
    }
}
