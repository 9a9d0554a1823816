# mlopsctl model server image.
#   docker build -t mlopsctl .
#   docker run -p 8080:8080 -v "$PWD:/workspace" -e MLFLOW_MODEL_NAME=churn \
#     -e MLFLOW_MODEL_STAGE=production mlopsctl
# The workspace (mlops.yaml and .mlops/) is mounted at /workspace; the model is
# chosen by MLFLOW_MODEL_NAME/MLFLOW_MODEL_STAGE (or MLOPS_* config), see
# mlopsctl-serve(1). Build without the torch helper: --build-arg WITH_TORCH=OFF.
FROM debian:bookworm AS build
ARG WITH_TORCH=ON
WORKDIR /src
COPY . .
RUN if [ "$WITH_TORCH" = OFF ]; then export MLOPS_SKIP_TORCH=1; fi \
 && bash scripts/install-deps \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMLOPS_BUILD_TESTS=OFF -DMLOPS_BUILD_BENCH=OFF \
      -DMLOPS_WITH_TORCH=$WITH_TORCH \
 && ninja -C /build \
 && DESTDIR=/out cmake --install /build --prefix /usr/local \
 && mkdir -p /out/usr/local/lib/mlopsctl

FROM debian:bookworm-slim
ARG WITH_TORCH=ON
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libcurl4 \
 && if [ "$WITH_TORCH" = ON ]; then apt-get install -y --no-install-recommends libtorch1.13; fi \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/local/bin/ /usr/local/bin/
# mlopsctl-torch-model.so, which model predict and serve dlopen for torch and
# TorchScript models (empty when built WITH_TORCH=OFF).
COPY --from=build /out/usr/local/lib/mlopsctl/ /usr/local/lib/mlopsctl/
RUN useradd --system --home /workspace mlops
USER mlops
WORKDIR /workspace
ENV MLOPS_DIR=/workspace
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["mlopsctl", "--version"]
CMD ["mlopsctl","serve","--host","0.0.0.0","--port","8080"]
