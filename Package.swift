// swift-tools-version:6.0
// anogan — AnoGAN (Schlegl et al., IPMI 2017) in native Swift on oneDNN.
import PackageDescription

let package = Package(
    name: "anogan",
    products: [
        .executable(name: "anogan", targets: ["AnoGANCLI"]),
        .library(name: "AnoGANKit", targets: ["Records", "NeuralNet", "AnoGAN", "Imaging", "Evaluation", "Report", "Workflows"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // YAML settings files (`--config FILE.yaml`).
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    ],
    targets: [
        // C APIs from Debian packages: libdnnl-dev (oneDNN 2.6), libpng-dev, zlib1g-dev.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),

        // The records the stages hand each other and their file formats (tensors, npy, safetensors,
        // patch sets, checkpoint metadata, score runs and tables, the settings records), plus FileError, atomic writes, the seeded RNG and progress. Links no oneDNN.
        .target(name: "Records"),
        // Deep-learning core: layers (oneDNN + plain Swift references), losses, Adam, threads.
        .target(name: "NeuralNet", dependencies: ["CDNNL", "Records"]),
        // Image and volume readers, OCT preprocessing, the OCT phantom, data sets.
        .target(name: "Imaging", dependencies: ["Records", "CPNG"]),
        // The paper's method: DCGAN, training, latent mapping, scores, comparison models.
        .target(name: "AnoGAN", dependencies: ["NeuralNet", "Records", "Imaging"]),
        // The evaluate stage: loads score runs (NamedScoreRun) and computes metrics and embeddings —
        // ROC, AUC, Youden, bootstrap, pixel AUROC, t-SNE — as pure functions.
        .target(name: "Evaluation", dependencies: ["Records"]),
        // Figures (PNG, SVG) and the self-contained HTML report; only draws.
        .target(name: "Report", dependencies: ["Records", "Evaluation", "Imaging"]),
        // The use cases every entry point calls: train-or-resume, score-and-write, input discovery for
        // preparation, settings files; and the compositions of them: the demo, the one-class protocol.
        .target(name: "Workflows", dependencies: ["Records", "NeuralNet", "AnoGAN", "Imaging", "Evaluation", "Report",
                                                  .product(name: "Yams", package: "Yams")]),
        // The `anogan` command: parses flags and calls the libraries.
        .executableTarget(
            name: "AnoGANCLI",
            dependencies: [
                "Records", "NeuralNet", "AnoGAN", "Imaging", "Evaluation", "Report", "Workflows",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Test plumbing shared by the test targets (a temporary directory per test, FileError assertions,
        // the pairwise AUC oracle, a synthetic score run on disk).
        .target(name: "TestSupport", dependencies: ["Records"], path: "Tests/TestSupport"),
        .testTarget(name: "RecordsTests", dependencies: ["Records", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet", "Records", "CDNNL"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "Records", "TestSupport"]),
        .testTarget(name: "AnoGANTests", dependencies: ["AnoGAN", "NeuralNet", "Records", "Imaging", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "Records", "TestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Records", "Evaluation", "Imaging", "TestSupport"]),
        .testTarget(name: "WorkflowsTests", dependencies: ["Workflows", "TestSupport", "Records", "NeuralNet", "AnoGAN", "Imaging", "Evaluation", "Report"]),
        // Runs the built `anogan` as a subprocess; the dependency makes `swift build --build-tests` build it first.
        .testTarget(name: "CLITests", dependencies: ["AnoGANCLI", "Records", "Imaging", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
