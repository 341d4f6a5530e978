// `anogan phantom`: writes synthetic OCT volumes (healthy and/or diseased) with
// their fluid masks and true layer boundaries, so every user has OCT-like data.

import ArgumentParser
import Foundation
import Records
import Imaging

struct PhantomCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "phantom",
        abstract: "Write synthetic retinal OCT volumes (MetaImage + PNG folders + true boundaries).",
        discussion: """
        Each volume is a different subject (seed + index). Files per volume NAME: NAME.mha (8-bit scan), \
        NAME_mask.mha (0 none, 1 intraretinal fluid, 2 subretinal fluid, 3 hyperreflective focus), \
        NAME_boundaries.npy (float32 B×2×W: ILM and Bruch rows), NAME.json (settings and seed), NAME_png/ and NAME_mask_png/.

        --config FILE (JSON or YAML) holds any of {phantom: {width, height, bscans, spacingX, spacingZ, spacingY}} \
        (spacings in µm); flags override it.
        """)

    /// The settings file of `anogan phantom` (`diseased` is set per volume).
    struct Config: Codable { var phantom = OCTPhantomSettings() }
    private static let defaults = OCTPhantomSettings()

    @Option(name: .long, help: "Output directory.")
    var out: String

    @Option(name: .long, help: "Number of healthy volumes.")
    var healthy: Int = 1

    @Option(name: .long, help: "Number of diseased volumes (fluid and foci, with masks).")
    var diseased: Int = 1

    @Option(name: .long, help: "B-scans per volume (default \(defaults.bscans)).")
    var bscans: Int?

    @Option(name: .long, help: "Columns (A-scans) per B-scan (default \(defaults.width)).")
    var width: Int?

    @Option(name: .long, help: "Rows (depth) per B-scan (default \(defaults.height)).")
    var height: Int?

    @Option(name: .long, help: "Scan width in mm; x spacing = scan width / columns (default \(defaults.spacingX * Double(defaults.width) / 1000)).")
    var scanWidth: Double?

    @Option(name: .long, help: "Axial spacing in µm per row (default \(defaults.spacingZ)).")
    var spacingZ: Double?

    @Option(name: .long, help: "Distance between B-scans in µm (default \(defaults.spacingY)).")
    var spacingY: Double?

    @OptionGroup var configFile: ConfigOption

    @Option(name: .long, help: "Random seed (each volume uses seed + its index).")
    var seed: UInt64 = 1

    @Flag(name: .long, help: "Skip the PNG folders.")
    var noPng = false

    func validate() throws {
        guard healthy >= 0, diseased >= 0, healthy + diseased > 0 else { throw ValidationError("--healthy and --diseased must be ≥ 0 and not both 0") }
        guard healthy <= 10_000, diseased <= 10_000 else { throw ValidationError("--healthy and --diseased must be ≤ 10000") }
        guard (1...4096).contains(bscans ?? 1), (32...4096).contains(width ?? 32), (32...4096).contains(height ?? 32) else {
            throw ValidationError("--bscans must be in 1…4096, --width and --height in 32…4096")
        }
        for (flag, v) in [("--scan-width", scanWidth), ("--spacing-z", spacingZ), ("--spacing-y", spacingY)] {
            if let v, !(v > 0 && v <= 1e6) { throw ValidationError("\(flag) must be positive and ≤ 1e6, got \(v)") }
        }
    }

    func run() throws {
        var base = try configFile.load(Config()).value.phantom
        // The scan's extent stays when only the column count changes.
        let scanMillimetres = scanWidth ?? base.spacingX * Double(base.width) / 1000
        if let width { base.width = width }
        if let height { base.height = height }
        if let bscans { base.bscans = bscans }
        if let spacingZ { base.spacingZ = spacingZ }
        if let spacingY { base.spacingY = spacingY }
        base.spacingX = scanMillimetres * 1000 / Double(base.width)
        guard base.bscans >= 1, base.width >= 32, base.height >= 32, base.spacingX > 0, base.spacingZ > 0, base.spacingY > 0 else {
            throw ValidationError("phantom bscans must be ≥ 1, width and height ≥ 32, spacings positive")
        }
        let (bscans, width, height) = (base.bscans, base.width, base.height)
        let directory = URL(fileURLWithPath: out)
        print("phantom: seed \(seed), \(healthy) healthy + \(diseased) diseased volumes of \(bscans)×\(height)×\(width) → \(directory.path)")
        for index in 0..<(healthy + diseased) {
            let sick = index >= healthy
            var settings = base
            settings.diseased = sick
            let name = String(format: "%@_%03d", sick ? "diseased" : "healthy", sick ? index - healthy : index)
            let start = Date()
            let volume = OCTPhantom.generate(settings, seed: seed &+ UInt64(index))
            let files = try volume.write(to: directory, name: name, png: !noPng)
            let annotated = volume.masks.filter(\.isAnnotated).count
            print("  \(files.scan.lastPathComponent): \(bscans) B-scans, \(annotated) with annotations, "
                  + String(format: "%.2f s", Date().timeIntervalSince(start)))
        }
    }
}
