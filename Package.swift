// swift-tools-version:6.0
// anogan — AnoGAN (Schlegl et al., IPMI 2017) in native Swift on oneDNN.
import PackageDescription

let package = Package(
    name: "anogan",
    products: [
        .executable(name: "anogan", targets: ["AnoGANCLI"]),
        .library(name: "AnoGANKit", targets: ["NeuralNet", "AnoGAN", "Imaging", "Evaluation", "Report", "Experiments"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // C APIs from Debian packages: libdnnl-dev (oneDNN 2.6), libpng-dev, zlib1g-dev.
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL"),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG"),

        // Deep-learning core: tensors, layers (oneDNN + plain Swift references), losses, Adam, safetensors, npy.
        .target(name: "NeuralNet", dependencies: ["CDNNL"]),
        // Image and volume readers, OCT preprocessing, the OCT phantom, data sets.
        .target(name: "Imaging", dependencies: ["NeuralNet", "CPNG"]),
        // The paper's method: DCGAN, training, latent mapping, scores, comparison models.
        .target(name: "AnoGAN", dependencies: ["NeuralNet", "Imaging", "Evaluation"]),
        // Metrics and embeddings: ROC, AUC, Youden, bootstrap, pixel AUROC, t-SNE. Pure functions.
        .target(name: "Evaluation", dependencies: ["NeuralNet"]),
        // Figures (PNG, SVG) and the self-contained HTML report.
        .target(name: "Report", dependencies: ["Evaluation", "Imaging"]),
        // Whole experiments over every stage: the one-command demo, the one-class benchmark.
        .target(name: "Experiments", dependencies: ["NeuralNet", "AnoGAN", "Imaging", "Evaluation", "Report"]),
        // The `anogan` command: parses flags and calls the libraries.
        .executableTarget(
            name: "AnoGANCLI",
            dependencies: [
                "NeuralNet", "AnoGAN", "Imaging", "Evaluation", "Report", "Experiments",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "NeuralNetTests", dependencies: ["NeuralNet"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging"]),
        .testTarget(name: "AnoGANTests", dependencies: ["AnoGAN"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
        .testTarget(name: "ReportTests", dependencies: ["Report"]),
        .testTarget(name: "ExperimentsTests", dependencies: ["Experiments"]),
        // Runs the built `anogan` as a subprocess; the dependency makes `swift build --build-tests` build it first.
        .testTarget(name: "CLITests", dependencies: ["AnoGANCLI"]),
    ],
    swiftLanguageModes: [.v5]
)
