// `anogan prepare`: turns OCT volumes (MetaImage or B-scan PNG folders, with
// masks) into a patch set by the paper's preprocessing, or one-class data sets
// (IDX, PNG folders) into train/test patch sets. Parses flags, calls Imaging.

import ArgumentParser
import Foundation
import Imaging
import NeuralNet
import Records

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Make a patch set: OCT preprocessing (normalise, resample, segment, flatten, patches) or a one-class data set.",
        discussion: """
        OCT: --volume FILE (MetaImage; a NAME_mask.mha/.mhd beside it is used as its mask unless --mask is given), \
        --volumes DIR (every volume in DIR with its _mask), --bscan-folder DIR (PNG B-scans, --mask-folder DIR in the same order). \
        Writes one patch set to --out. \
        Data sets: --idx DIR --normal-class C, or --train-folder DIR --test-folder LABEL=DIR…; writes --out/train and --out/test.
        """)

    @Option(name: .long, help: "Output directory (a patch set; data sets get train/ and test/ inside).")
    var out: String

    @Option(name: .long, help: "MetaImage OCT volume (.mha/.mhd); repeatable.")
    var volume: [String] = []
    @Option(name: .long, help: "Mask volume for the --volume at the same position; repeatable.")
    var mask: [String] = []
    @Option(name: .long, help: "Directory: every .mha/.mhd volume in it (not *_mask), with NAME_mask beside it as mask.")
    var volumes: [String] = []
    @Option(name: .long, help: "Folder of B-scan PNGs forming one volume; repeatable.")
    var bscanFolder: [String] = []
    @Option(name: .long, help: "Folder of mask PNGs for the --bscan-folder at the same position; repeatable.")
    var maskFolder: [String] = []

    @Option(name: .long, help: "Column spacing after resampling, µm (paper: 22).")
    var spacingX: Double = 22
    @Option(name: .long, help: "Column spacing of inputs that do not state it (PNG folders), µm; 0 = leave unresampled.")
    var inputSpacingX: Double = 0
    @Option(name: .long, help: "Row spacing of inputs that do not state it, µm (segmentation assumes 3.87 if unknown).")
    var inputSpacingZ: Double = 0
    @Option(name: .long, help: "Patch side in pixels.")
    var patchSize: Int = 64
    @Option(name: .long, help: "Random patches per B-scan.")
    var patchesPerBscan: Int = 16
    @Option(name: .long, help: "Label of patches from inputs without a mask: normal, anomalous or unknown.")
    var label: String = "unknown"
    @Option(name: .long, parsing: .upToNextOption,
            help: "Mask values that count as anomalous (e.g. 1 2 = the phantom's fluid, as in the paper); default: every nonzero value.")
    var maskClasses: [Int] = []
    @Option(name: .long, help: "Random seed for patch positions.")
    var seed: UInt64 = 1

    @Option(name: .long, help: "IDX data set directory (MNIST / Fashion-MNIST layout).")
    var idx: String?
    @Option(name: .long, help: "With --idx: the normal class.")
    var normalClass: Int?
    @Option(name: .long, help: "With --idx: keep the first N training images of the normal class.")
    var trainLimit: Int?
    @Option(name: .long, help: "With --idx: keep the first N test images.")
    var testLimit: Int?
    @Option(name: .long, help: "With --idx: image side (28×28 is centred on this canvas).")
    var imageSize: Int = 32
    @Option(name: .long, help: "Folder of normal training PNGs.")
    var trainFolder: String?
    @Option(name: .long, help: "LABEL=DIR test folder (normal/anomalous); repeatable.")
    var testFolder: [String] = []

    private var octMode: Bool { !volume.isEmpty || !volumes.isEmpty || !bscanFolder.isEmpty }

    func validate() throws {
        let modes = [octMode, idx != nil, trainFolder != nil].filter { $0 }.count
        guard modes == 1 else { throw ValidationError("give exactly one kind of input: OCT (--volume/--volumes/--bscan-folder), --idx, or --train-folder") }
        guard mask.isEmpty || mask.count == volume.count else { throw ValidationError("--mask given \(mask.count) times for \(volume.count) --volume") }
        guard maskFolder.isEmpty || maskFolder.count == bscanFolder.count else {
            throw ValidationError("--mask-folder given \(maskFolder.count) times for \(bscanFolder.count) --bscan-folder")
        }
        guard patchSize >= 4, patchSize % 2 == 0 else { throw ValidationError("--patch-size must be even and ≥ 4") }
        guard patchesPerBscan >= 1 else { throw ValidationError("--patches-per-bscan must be ≥ 1") }
        guard spacingX > 0, inputSpacingX >= 0, inputSpacingZ >= 0 else { throw ValidationError("spacings must be positive") }
        guard maskClasses.allSatisfy({ $0 >= 1 && $0 <= 255 }) else { throw ValidationError("--mask-classes must be values 1…255") }
        guard ImageFolder.label(named: label) != nil else { throw ValidationError("--label must be normal, anomalous or unknown, not '\(label)'") }
        if idx != nil && normalClass == nil { throw ValidationError("--idx needs --normal-class") }
        if trainFolder != nil && testFolder.isEmpty { throw ValidationError("--train-folder needs at least one --test-folder LABEL=DIR") }
        for t in testFolder { _ = try parseTestFolder(t) }
    }

    private func parseTestFolder(_ text: String) throws -> (label: Int, directory: URL) {
        guard let eq = text.firstIndex(of: "="), let l = ImageFolder.label(named: String(text[..<eq])), l >= 0 else {
            throw ValidationError("--test-folder '\(text)' must be LABEL=DIR with LABEL normal or anomalous")
        }
        return (l, URL(fileURLWithPath: String(text[text.index(after: eq)...])))
    }

    func run() throws {
        let outURL = URL(fileURLWithPath: out)
        if let idx {
            let (train, test) = try OneClassIDX.load(directory: URL(fileURLWithPath: idx), normalClass: normalClass!,
                                                     trainLimit: trainLimit, testLimit: testLimit, imageSize: imageSize)
            try save(train, outURL.appendingPathComponent("train"))
            try save(test, outURL.appendingPathComponent("test"))
        } else if let trainFolder {
            let (train, test) = try ImageFolder.load(train: URL(fileURLWithPath: trainFolder), test: testFolder.map(parseTestFolder))
            try save(train, outURL.appendingPathComponent("train"))
            try save(test, outURL.appendingPathComponent("test"))
        } else {
            try prepareOCT(outURL)
        }
    }

    private func save(_ set: PatchSet, _ url: URL) throws {
        try set.save(to: url)
        let anomalous = set.labels?.filter { $0 == 1 }.count ?? 0
        print("wrote \(url.path): \(set.count) images of \(set.size)×\(set.size), \(anomalous) anomalous")
    }

    /// Inputs as (name, loader) so a bad file fails when its turn comes, with its name.
    private func octInputs() throws -> [(name: String, load: () throws -> (Volume, Volume?, ClosedRange<Float>?))] {
        var inputs: [(String, () throws -> (Volume, Volume?, ClosedRange<Float>?))] = []
        func metaImage(_ path: String, mask maskPath: String?) -> (String, () throws -> (Volume, Volume?, ClosedRange<Float>?)) {
            let url = URL(fileURLWithPath: path)
            let maskURL: URL? = maskPath.map { URL(fileURLWithPath: $0) } ?? autoMask(for: url)
            return (url.lastPathComponent, { (try MetaImage.read(url), try maskURL.map(MetaImage.read), nil) })
        }
        for (i, path) in volume.enumerated() { inputs.append(metaImage(path, mask: mask.isEmpty ? nil : mask[i])) }
        for dir in volumes {
            let url = URL(fileURLWithPath: dir)
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch { throw FileError(url, "cannot list directory") }
            let found = names.filter { ($0.hasSuffix(".mha") || $0.hasSuffix(".mhd")) && !isMaskName($0) }
                .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            guard !found.isEmpty else { throw FileError(url, "no .mha/.mhd volumes in this directory") }
            for name in found { inputs.append(metaImage(url.appendingPathComponent(name).path, mask: nil)) }
        }
        for (i, dir) in bscanFolder.enumerated() {
            let url = URL(fileURLWithPath: dir)
            let maskURL = maskFolder.isEmpty ? nil : URL(fileURLWithPath: maskFolder[i])
            inputs.append((url.lastPathComponent, {
                let folder = try BScanFolder.read(directory: url, masks: maskURL)
                return (folder.volume, folder.masks, folder.bitDepth == 16 ? 0...65535 : 0...255)
            }))
        }
        return inputs
    }

    private func isMaskName(_ name: String) -> Bool {
        let stem = (name as NSString).deletingPathExtension
        return stem.hasSuffix("_mask")
    }

    private func autoMask(for url: URL) -> URL? {
        let stem = url.deletingPathExtension().lastPathComponent
        for ext in ["mha", "mhd"] {
            let candidate = url.deletingLastPathComponent().appendingPathComponent("\(stem)_mask.\(ext)")
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return nil
    }

    private func prepareOCT(_ outURL: URL) throws {
        let settings = OCTPreprocessingSettings(targetSpacingX: spacingX, patchSize: patchSize, patchesPerBScan: patchesPerBscan,
                                                annotatedClasses: maskClasses.isEmpty ? nil : maskClasses.map(UInt8.init))
        let unmaskedLabel = ImageFolder.label(named: label)!
        var rng = SeededGenerator(seed: seed)
        var collector = OCTPatchCollector(size: patchSize)
        let inputs = try octInputs()
        print("prepare: seed \(seed), \(inputs.count) OCT volume(s), \(patchesPerBscan) patches of \(patchSize)×\(patchSize) per B-scan, columns resampled to \(spacingX) µm")
        for (i, input) in inputs.enumerated() {
            let start = Date()
            var (vol, maskVol, range) = try input.load()
            if vol.spacing.x == 1, inputSpacingX > 0 { vol.spacing.x = inputSpacingX / 1000 }
            if vol.spacing.y == 1, inputSpacingZ > 0 { vol.spacing.y = inputSpacingZ / 1000 }
            let before = collector.count
            try OCTPreprocessing.addPatches(from: vol, mask: maskVol, name: input.name, settings: settings,
                                            unmaskedLabel: unmaskedLabel, grayRange: range, using: &rng, into: &collector)
            let added = collector.labels[before...]
            print("  [\(i + 1)/\(inputs.count)] \(input.name): \(vol.depth) B-scans \(vol.height)×\(vol.width) → \(added.count) patches, "
                  + "\(added.filter { $0 == 1 }.count) anomalous, " + String(format: "%.1f s", Date().timeIntervalSince(start)))
        }
        var manifest = settings.manifest
        manifest["protocol"] = "oct"
        manifest["inputs"] = inputs.map(\.name).joined(separator: ";")
        manifest["unmasked_label"] = "\(unmaskedLabel)"
        try save(collector.patchSet(settings: manifest, seed: seed), outURL)
    }
}
