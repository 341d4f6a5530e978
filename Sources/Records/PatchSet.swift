// Patch sets: the images a model trains on or scores, with optional labels,
// annotation masks and provenance, stored as a directory of .npy files plus a
// JSON manifest (contracts §5) so any NumPy user can open them.

import Foundation

/// Where a patch came from: volume name, B-scan index and the patch's top-left pixel (x, y).
public struct PatchSource: Codable, Equatable, Sendable {
    public var volume: String
    public var bscan: Int
    public var x: Int
    public var y: Int

    public init(volume: String, bscan: Int, x: Int, y: Int) {
        self.volume = volume
        self.bscan = bscan
        self.x = x
        self.y = y
    }
}

/// N square grey images in [-1, 1] with optional per-image labels, masks and sources.
///
/// On disk (a directory): `images.npy` float32 N×1×S×S, `labels.npy` int64 [N]
/// (0 normal, 1 anomalous, −1 unknown; optional), `masks.npy` uint8 N×1×S×S
/// (nonzero = annotated; optional), `manifest.json`.
public struct PatchSet {
    /// N×1×S×S, values in [-1, 1].
    public var images: Tensor
    /// One label per image: 0 normal, 1 anomalous, −1 unknown.
    public var labels: [Int]?
    /// N×1×S×S with values 0 or 1 (1 = annotated as anomalous).
    public var masks: Tensor?
    /// Provenance of each patch.
    public var sources: [PatchSource]?
    /// Free-form settings of whatever made the set (recorded in the manifest).
    public var settings: [String: String]
    /// Seed of whatever made the set, when it was random.
    public var seed: UInt64?

    public init(images: Tensor, labels: [Int]? = nil, masks: Tensor? = nil, sources: [PatchSource]? = nil,
                settings: [String: String] = [:], seed: UInt64? = nil) {
        self.images = images
        self.labels = labels
        self.masks = masks
        self.sources = sources
        self.settings = settings
        self.seed = seed
    }

    /// Number of images N.
    public var count: Int { images.shape.first ?? 0 }
    /// Side length S of the square images.
    public var size: Int { images.rank == 4 ? images.shape[3] : 0 }

    /// The images (and their labels, masks, sources) at `indices`, in that order.
    public func subset(_ indices: [Int]) -> PatchSet {
        let s = size
        let item = s * s
        let images = Tensor(shape: [indices.count, 1, s, s])
        let masks = self.masks.map { _ in Tensor(shape: [indices.count, 1, s, s]) }
        for (j, i) in indices.enumerated() {
            precondition(i >= 0 && i < count, "subset index \(i) out of 0..<\(count)")
            (images.data + j * item).update(from: self.images.data + i * item, count: item)
            if let masks, let source = self.masks { (masks.data + j * item).update(from: source.data + i * item, count: item) }
        }
        return PatchSet(images: images, labels: labels.map { l in indices.map { l[$0] } }, masks: masks,
                        sources: sources.map { s in indices.map { s[$0] } }, settings: settings, seed: seed)
    }

    /// Values may exceed [-1, 1] by this much (rounding in whatever wrote them).
    public static let rangeTolerance: Float = 1e-3

    static let imagesFile = "images.npy", labelsFile = "labels.npy", masksFile = "masks.npy", manifestFile = "manifest.json"

    struct Manifest: Codable {
        var format: String
        var version: Int
        var count: Int
        var size: Int
        var settings: [String: String]?
        var seed: UInt64?
        var sources: [PatchSource]?
    }

    // MARK: Validation

    /// Checks shapes, ranges, NaN and counts; `path` names the offending file.
    func validate(directory: URL) throws {
        let imagesPath = directory.appendingPathComponent(Self.imagesFile).path
        guard images.rank == 4, images.shape[1] == 1, images.shape[2] == images.shape[3] else {
            throw FileError(imagesPath, "images must be N×1×S×S (one grey channel, square), got \(images.shape)")
        }
        guard count > 0, size > 0 else { throw FileError(imagesPath, "patch set is empty (shape \(images.shape))") }
        let limit = 1 + Self.rangeTolerance
        for i in 0..<images.count {
            let v = images.data[i]
            guard v.isFinite else { throw FileError(imagesPath, "value \(v) at flat index \(i) (image \(i / (size * size))) is not finite") }
            guard abs(v) <= limit else { throw FileError(imagesPath, "value \(v) at flat index \(i) (image \(i / (size * size))) is outside [-1, 1]") }
        }
        if let labels {
            let path = directory.appendingPathComponent(Self.labelsFile).path
            guard labels.count == count else { throw FileError(path, "\(labels.count) labels for \(count) images") }
            if let bad = labels.firstIndex(where: { ![-1, 0, 1].contains($0) }) {
                throw FileError(path, "label \(labels[bad]) at index \(bad) is not 0 (normal), 1 (anomalous) or -1 (unknown)")
            }
        }
        if let masks {
            let path = directory.appendingPathComponent(Self.masksFile).path
            guard masks.shape == images.shape else { throw FileError(path, "masks have shape \(masks.shape), images \(images.shape)") }
        }
        if let sources, sources.count != count {
            throw FileError(directory.appendingPathComponent(Self.manifestFile).path, "\(sources.count) sources for \(count) images")
        }
    }

    // MARK: Files

    /// Reads and validates a patch set directory. `manifest.json` is optional (a
    /// directory holding just `images.npy` written from NumPy loads), but when
    /// present its format, count and size must agree with the arrays.
    public static func load(from directory: URL) throws -> PatchSet {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FileError(directory, "no such patch set directory")
        }
        let imagesURL = directory.appendingPathComponent(imagesFile)
        let imageArray = try NPY.read(imagesURL)
        guard imageArray.type == .float32 || imageArray.type == .float64 else {
            throw FileError(imagesURL, "images must be float32, got \(imageArray.type.rawValue)")
        }
        var set = PatchSet(images: Tensor(shape: imageArray.shape, values: imageArray.floats()))

        let labelsURL = directory.appendingPathComponent(labelsFile)
        if FileManager.default.fileExists(atPath: labelsURL.path) {
            let array = try NPY.read(labelsURL)
            guard [.int64, .int32, .uint8].contains(array.type) else {
                throw FileError(labelsURL, "labels must be integers (int64), got \(array.type.rawValue)")
            }
            guard array.shape.count == 1 else { throw FileError(labelsURL, "labels must be one-dimensional, got shape \(array.shape)") }
            set.labels = integers(array)
        }
        let masksURL = directory.appendingPathComponent(masksFile)
        if FileManager.default.fileExists(atPath: masksURL.path) {
            let array = try NPY.read(masksURL)
            set.masks = Tensor(shape: array.shape, values: array.floats().map { $0 != 0 ? 1 : 0 })
        }
        try set.validate(directory: directory)
        let manifestURL = directory.appendingPathComponent(manifestFile)
        if FileManager.default.fileExists(atPath: manifestURL.path) {
            let manifest: Manifest
            do { manifest = try JSONDecoder().decode(Manifest.self, from: readFile(manifestURL)) } catch let error as FileError {
                throw error
            } catch {
                throw FileError(manifestURL, "not a valid patch set manifest: \(error)")
            }
            guard manifest.format == "anogan-patchset" else { throw FileError(manifestURL, "format is \"\(manifest.format)\", expected \"anogan-patchset\"") }
            guard manifest.version == 1 else { throw FileError(manifestURL, "unsupported patch set version \(manifest.version)") }
            guard manifest.count == set.count, manifest.size == set.size else {
                throw FileError(manifestURL, "manifest says \(manifest.count) patches of \(manifest.size)², \(imagesFile) has shape \(set.images.shape)")
            }
            set.settings = manifest.settings ?? [:]
            set.seed = manifest.seed
            set.sources = manifest.sources
            try set.validate(directory: directory)
        }
        return set
    }

    /// Writes the set (each file atomically). Optional files the set lacks are
    /// removed, so a stale `labels.npy` from an earlier set is never read back.
    public func save(to directory: URL) throws {
        try validate(directory: directory)
        try NPY.write(images, to: directory.appendingPathComponent(Self.imagesFile))
        let labelsURL = directory.appendingPathComponent(Self.labelsFile)
        if let labels {
            try NPY.write(NPYArray(int64: labels.map(Int64.init), shape: [labels.count]), to: labelsURL)
        } else {
            try removeIfPresent(labelsURL)
        }
        let masksURL = directory.appendingPathComponent(Self.masksFile)
        if let masks {
            try NPY.write(NPYArray(uint8: masks.buffer.map { $0 != 0 ? 1 : 0 }, shape: masks.shape), to: masksURL)
        } else {
            try removeIfPresent(masksURL)
        }
        let manifest = Manifest(format: "anogan-patchset", version: 1, count: count, size: size,
                                settings: settings, seed: seed, sources: sources)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(manifest).writeAtomically(to: directory.appendingPathComponent(Self.manifestFile))
    }

    /// Integer payloads read exactly (through Float, a huge int64 would trap).
    private static func integers(_ array: NPYArray) -> [Int] {
        let n = array.shape.reduce(1, *)
        return array.payload.withUnsafeBytes { raw in
            switch array.type {
            case .int64: return (0..<n).map { Int(raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self).littleEndian) }
            case .int32: return (0..<n).map { Int(raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self).littleEndian) }
            default: return (0..<n).map { Int(raw[$0]) }
            }
        }
    }

    private func removeIfPresent(_ url: URL) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        do { try FileManager.default.removeItem(at: url) } catch { throw FileError(url, "cannot remove stale file: \(error.localizedDescription)") }
    }
}
