# The vox worker image, for docker-compose.yml and production.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vox ./vox
RUN pip install --no-cache-dir .
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
