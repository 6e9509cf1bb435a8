// swift-tools-version:6.1
import PackageDescription

let package = Package(
  name: "custody",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "custody", targets: ["custody"]),
    .library(name: "Custody", targets: ["Custody"]),
    .library(name: "Postgres", targets: ["Postgres"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
  ],
  targets: [
    .systemLibrary(
      name: "CLibPQ",
      pkgConfig: "libpq",
      providers: [.apt(["libpq-dev"])]
    ),
    .systemLibrary(name: "CZint", providers: [.apt(["libzint-dev"])]),
    .target(
      name: "Postgres",
      dependencies: [
        "CLibPQ",
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    .executableTarget(name: "MigrationEmbedder"),
    .plugin(
      name: "EmbedMigrations",
      capability: .buildTool(),
      dependencies: ["MigrationEmbedder"]
    ),
    .target(
      name: "Custody",
      dependencies: [
        "Postgres",
        "CZint",
        .product(name: "CSV", package: "CSV.swift"),
      ],
      plugins: ["EmbedMigrations"]
    ),
    .executableTarget(
      name: "custody",
      dependencies: [
        "Custody",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .target(
      name: "TestSupport",
      dependencies: ["Custody", "Postgres"],
      path: "Tests/TestSupport"
    ),
    .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
    .testTarget(name: "CustodyTests", dependencies: ["Custody", "TestSupport"]),
    .testTarget(
      name: "EndToEndTests",
      dependencies: ["custody", "Custody", "TestSupport"]
    ),
  ],
  swiftLanguageModes: [.v6]
)
