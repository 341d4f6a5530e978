// The images `train` learns from and `score` maps: either a patch-set
// directory (Records' PatchSet) or a bare .npy of N×1×S×S floats in [-1, 1].
// Checked once here so the loops never see a NaN or a wrong shape.

import Foundation
import Imaging
import NeuralNet
import Records

/// Images for training or scoring, with the labels and ids that travel with them.
public struct ImageInput {
    /// N×C×S×S, values in [-1, 1].
    public var images: Tensor
    /// Per image 0 normal, 1 anomalous; nil when unknown.
    public var labels: [Int?]
    /// Per image, its stable id (the patch set's `ids`, or the row index of a bare .npy):
    /// the row id in scores.csv and, with the scoring seed, the seed of its z₁. Unique.
    public var ids: [String]
    /// Where the images came from (patch-set directory or .npy file).
    public var source: URL

    public var count: Int { images.shape[0] }
    public var imageSize: Int { images.shape[2] }

    /// `ids` nil: the row indices "0", "1", ….
    public init(images: Tensor, labels: [Int?]? = nil, ids: [String]? = nil, source: URL) {
        self.images = images
        self.labels = labels ?? Array(repeating: nil, count: images.shape[0])
        self.ids = ids ?? (0..<images.shape[0]).map { String($0) }
        self.source = source
    }

    /// The images at `indices`, in that order, with their labels and ids.
    public func subset(_ indices: [Int]) -> ImageInput {
        let item = images.itemCount
        let out = Tensor(shape: [indices.count] + Array(images.shape.dropFirst()))
        for (k, i) in indices.enumerated() { (out.data + k * item).update(from: images.data + i * item, count: item) }
        return ImageInput(images: out, labels: indices.map { labels[$0] }, ids: indices.map { ids[$0] }, source: source)
    }

    /// Reads a patch-set directory or a .npy file and validates it (rank 4, square,
    /// non-empty, finite, within [-1, 1] up to rounding).
    public static func load(_ url: URL) throws -> ImageInput {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw FileError(url, "no such file or directory")
        }
        let input: ImageInput
        if isDirectory.boolValue {
            let set = try PatchSet.load(from: url)
            let labels: [Int?]? = set.labels.map { $0.map { $0 < 0 ? nil : $0 } }
            input = ImageInput(images: set.images, labels: labels, ids: set.ids, source: url)
        } else {
            input = ImageInput(images: try NPY.readTensor(url, minimumRank: 1), source: url)
        }
        try input.validate()
        return input
    }

    /// Throws a `FileError` naming `source` when the images cannot be fed to a DCGAN.
    public func validate() throws {
        let s = images.shape
        guard s.count == 4 else { throw FileError(source, "images must be N×C×S×S, got shape \(s)") }
        guard s[0] > 0 else { throw FileError(source, "holds no images") }
        guard s[2] == s[3] else { throw FileError(source, "images must be square, got \(s[2])×\(s[3])") }
        guard labels.count == s[0] else { throw FileError(source, "\(labels.count) labels for \(s[0]) images") }
        guard ids.count == s[0] else { throw FileError(source, "\(ids.count) ids for \(s[0]) images") }
        var first: [String: Int] = [:]
        for (i, id) in ids.enumerated() {
            if let j = first.updateValue(i, forKey: id) { throw FileError(source, "id \"\(id)\" is shared by images \(j) and \(i); ids must be unique") }
        }
        let p = images.data
        for i in 0..<images.count {
            let v = p[i]
            guard v.isFinite else { throw FileError(source, "image \(i / images.itemCount) holds a non-finite value") }
            guard v >= -1.0001 && v <= 1.0001 else {
                throw FileError(source, "image \(i / images.itemCount) holds \(v), outside [-1, 1]")
            }
        }
    }

    /// Checks that the images fit `config` (channels and size); the message says what to do.
    /// `model` is the checkpoint `config` came from: a colour model's error names it.
    public func check(fits config: DCGANConfig, of model: URL? = nil) throws {
        let s = images.shape
        // Patch sets, scores, residual maps and pictures are grey throughout (DESIGN.md: data formats).
        guard s[1] == 1 else {
            throw FileError(source, "images have \(s[1]) channels; anogan reads grey images (N×1×S×S): convert them to grey")
        }
        guard config.channels == 1 else {
            let problem = "the model has \(config.channels) channels; anogan trains and scores grey (one-channel) models only"
            if let model { throw FileError(model, problem) }
            throw SettingsError(problem)
        }
        guard s[2] == config.imageSize else {
            throw FileError(source, "images are \(s[2])×\(s[3]) but the model takes \(config.imageSize)×\(config.imageSize)")
        }
    }
}
