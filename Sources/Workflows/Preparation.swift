// Preparation (`anogan prepare`): find the OCT volumes the user named (a
// MetaImage file with NAME_mask beside it, every volume of a directory, a
// folder of B-scan PNGs with a mask folder), read them one at a time with
// their units, and cut the paper's patches; or load a one-class data set (IDX,
// PNG folders). Discovery is its own function so its rules are tested apart.

import Foundation
import Imaging
import Records

/// What the user named as OCT input.
public enum OCTInput: Equatable, Sendable {
    /// A MetaImage volume (.mha/.mhd); `mask` nil: NAME_mask.mha/.mhd beside it when present.
    case volume(URL, mask: URL?)
    /// Every .mha/.mhd volume in the directory that is not a NAME_mask, each with its mask beside it.
    case directory(URL)
    /// A folder of B-scan PNGs forming one volume, with an optional folder of mask PNGs in the same order.
    case bscanFolder(URL, masks: URL?)
}

/// One volume found, not yet read.
public struct OCTSource: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case metaImage, pngFolder }
    /// File or folder name, used in messages and patch sources.
    public var name: String
    public var kind: Kind
    public var scan: URL
    public var mask: URL?
}

/// Expands the inputs into volumes in order (a directory's volumes in numeric name order).
/// A directory that cannot be listed or holds no volume is a FileError naming it.
public func discoverOCTSources(_ inputs: [OCTInput]) throws -> [OCTSource] {
    func isMask(_ name: String) -> Bool { (name as NSString).deletingPathExtension.hasSuffix("_mask") }
    func maskBeside(_ url: URL) -> URL? {
        let stem = url.deletingPathExtension().lastPathComponent
        return ["mha", "mhd"].map { url.deletingLastPathComponent().appendingPathComponent("\(stem)_mask.\($0)") }
            .first { FileManager.default.fileExists(atPath: $0.path) }
    }
    var sources: [OCTSource] = []
    for input in inputs {
        switch input {
        case let .volume(url, mask):
            sources.append(OCTSource(name: url.lastPathComponent, kind: .metaImage, scan: url, mask: mask ?? maskBeside(url)))
        case let .directory(url):
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
                throw FileError(url, "cannot list directory")
            }
            let found = names.filter { ($0.hasSuffix(".mha") || $0.hasSuffix(".mhd")) && !isMask($0) }
                .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            guard !found.isEmpty else { throw FileError(url, "no .mha/.mhd volumes in this directory") }
            for name in found {
                let file = url.appendingPathComponent(name)
                sources.append(OCTSource(name: name, kind: .metaImage, scan: file, mask: maskBeside(file)))
            }
        case let .bscanFolder(url, masks):
            sources.append(OCTSource(name: url.lastPathComponent, kind: .pngFolder, scan: url, mask: masks))
        }
    }
    return sources
}

/// How `prepare` turns OCT volumes into patches.
public struct OCTPreparationSettings: Codable, Equatable, Sendable {
    public var preprocessing = OCTPreprocessingSettings()
    /// Column spacing of inputs that do not state it (PNG folders), µm; 0 leaves them unresampled.
    public var inputSpacingX: Double = 0
    /// Row spacing of inputs that do not state it, µm; 0: unknown (segmentation assumes 3.87).
    public var inputSpacingZ: Double = 0
    /// Label of patches from volumes without a mask: 0 normal, 1 anomalous, -1 unknown.
    public var unmaskedLabel = -1
    /// Seeds the patch positions.
    public var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        let p = preprocessing
        guard p.patchSize >= 4, p.patchSize % 2 == 0, p.patchSize <= Limits.imageSize else {
            throw SettingsError("preprocessing.patchSize must be even and in 4…\(Limits.imageSize), got \(p.patchSize)")
        }
        guard (1...Limits.count).contains(p.patchesPerBScan) else { throw SettingsError("preprocessing.patchesPerBScan must be in 1…\(Limits.count), got \(p.patchesPerBScan)") }
        guard p.targetSpacingX > 0, inputSpacingX >= 0, inputSpacingZ >= 0 else {
            throw SettingsError("preprocessing.targetSpacingX must be positive, inputSpacingX and inputSpacingZ ≥ 0")
        }
        guard (p.annotatedClasses ?? []).allSatisfy({ $0 >= 1 }) else { throw SettingsError("preprocessing.annotatedClasses must be values 1…255") }
        guard [-1, 0, 1].contains(unmaskedLabel) else { throw SettingsError("unmaskedLabel must be 0, 1 or -1, got \(unmaskedLabel)") }
    }
}

/// Reads one volume and its mask, giving a spacing-less input the stated spacing (µm → the
/// volume's mm); `grayRange` is the fixed range of PNG folders (by bit depth), nil for MetaImage.
public func readOCTSource(_ source: OCTSource, settings: OCTPreparationSettings) throws
    -> (volume: Volume, mask: Volume?, grayRange: ClosedRange<Float>?) {
    var volume: Volume, mask: Volume?, grayRange: ClosedRange<Float>?
    switch source.kind {
    case .metaImage:
        volume = try MetaImage.read(source.scan)
        mask = try source.mask.map(MetaImage.read)
    case .pngFolder:
        let folder = try BScanFolder.read(directory: source.scan, masks: source.mask)
        (volume, mask, grayRange) = (folder.volume, folder.masks, folder.bitDepth == 16 ? 0...65535 : 0...255)
    }
    // Volumes without a stated spacing carry 1 (mm); the settings give µm.
    if volume.spacing.x == 1, settings.inputSpacingX > 0 { volume.spacing.x = settings.inputSpacingX / 1000 }
    if volume.spacing.y == 1, settings.inputSpacingZ > 0 { volume.spacing.y = settings.inputSpacingZ / 1000 }
    return (volume, mask, grayRange)
}

/// Reads each volume in turn (a bad file fails when its turn comes, with its name), gives spacing-less
/// inputs the stated spacing (µm → the volumes' mm) and collects the paper's patches.
public func prepareOCT(_ sources: [OCTSource], settings: OCTPreparationSettings, log: (String) -> Void) throws -> PatchSet {
    try settings.validate()
    let p = settings.preprocessing
    var rng = SeededGenerator(seed: settings.seed)
    var collector = OCTPatchCollector(size: p.patchSize)
    log("prepare: seed \(settings.seed), \(sources.count) OCT volume(s), \(p.patchesPerBScan) patches of \(p.patchSize)×\(p.patchSize) "
        + "per B-scan, columns resampled to \(p.targetSpacingX) µm")
    for (i, source) in sources.enumerated() {
        let start = Date()
        let (volume, mask, grayRange) = try readOCTSource(source, settings: settings)
        let before = collector.count
        try OCTPreprocessing.addPatches(from: volume, mask: mask, name: source.name, settings: p, unmaskedLabel: settings.unmaskedLabel,
                                        grayRange: grayRange, using: &rng, into: &collector)
        let added = collector.labels[before...]
        log("  [\(i + 1)/\(sources.count)] \(source.name): \(volume.depth) B-scans \(volume.height)×\(volume.width) → \(added.count) patches, "
            + "\(added.filter { $0 == 1 }.count) anomalous, " + String(format: "%.1f s", Date().timeIntervalSince(start)))
    }
    var manifest = p.manifest
    manifest["protocol"] = "oct"
    manifest["inputs"] = sources.map(\.name).joined(separator: ";")
    manifest["unmasked_label"] = "\(settings.unmaskedLabel)"
    return collector.patchSet(settings: manifest, seed: settings.seed)
}

/// What `prepare` makes.
public enum PreparationRequest {
    /// OCT volumes → one patch set in the output directory.
    case oct([OCTInput], OCTPreparationSettings)
    /// An IDX data set with the one-class protocol → train/ and test/.
    case idx(directory: URL, normalClass: Int, trainLimit: Int?, testLimit: Int?, imageSize: Int)
    /// A folder of normal training PNGs and labelled test folders → train/ and test/; with an
    /// image size, every image fitted to it (`SquareFit`), else all of one square size.
    case folders(train: URL, test: [(label: Int, directory: URL)], imageSize: Int?)
}

/// Runs a preparation and writes its patch set(s) under `output`; returns the sets written.
@discardableResult
public func prepare(_ request: PreparationRequest, output: URL, log: (String) -> Void) throws -> [(URL, PatchSet)] {
    var written: [(URL, PatchSet)] = []
    func save(_ set: PatchSet, _ url: URL) throws {
        try set.save(to: url)
        let anomalous = set.labels?.filter { $0 == 1 }.count ?? 0
        log("wrote \(url.path): \(set.count) images of \(set.size)×\(set.size), \(anomalous) anomalous")
        written.append((url, set))
    }
    switch request {
    case let .oct(inputs, settings):
        try settings.validate()
        try save(try prepareOCT(try discoverOCTSources(inputs), settings: settings, log: log), output)
    case let .idx(directory, normalClass, trainLimit, testLimit, imageSize):
        let (train, test) = try OneClassIDX.load(directory: directory, normalClass: normalClass, trainLimit: trainLimit,
                                                 testLimit: testLimit, imageSize: imageSize)
        try save(train, output.appendingPathComponent("train"))
        try save(test, output.appendingPathComponent("test"))
    case let .folders(trainFolder, testFolders, imageSize):
        let (train, test) = try ImageFolder.load(train: trainFolder, test: testFolders, imageSize: imageSize)
        try save(train, output.appendingPathComponent("train"))
        try save(test, output.appendingPathComponent("test"))
    }
    return written
}

// SettingsError lives in Records (Settings/Limits.swift), beside the settings records that throw it.
