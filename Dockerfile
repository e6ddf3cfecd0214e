# The vox worker image, for docker-compose.yml and production.

# the compiled text sentiment reader (native/), built as a wheel in a Rust image (Debian bookworm,
# as the image below): without it the worker reads the same scores in Python, nine times slower
FROM rust:1-slim-bookworm AS native
RUN apt-get update && apt-get install -y --no-install-recommends python3 python3-venv && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build && /opt/build/bin/pip install --no-cache-dir "maturin>=1.5,<2"
COPY native /native
RUN /opt/build/bin/maturin build --release --compatibility linux --manifest-path /native/Cargo.toml --out /wheels

FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vox ./vox
COPY --from=native /wheels /wheels
RUN pip install --no-cache-dir . /wheels/*.whl && rm -rf /wheels
# the worker runs as nobody: its data directory must exist and be its own before it starts
RUN mkdir -p /var/lib/vox && chown nobody:nogroup /var/lib/vox
ENV VOX_HOME=/var/lib/vox VOX_WEB_HOST=0.0.0.0
VOLUME /var/lib/vox
EXPOSE 6066
USER nobody
# healthy while every stage makes progress (/healthz answers 503 once one stalls)
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:6066/healthz', timeout=2)"]
ENTRYPOINT ["vox"]
CMD ["worker"]
