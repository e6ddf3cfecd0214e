# The vox worker image, for docker-compose.yml and production.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY vox ./vox
RUN pip install --no-cache-dir .
ENV VOX_HOME=/var/lib/vox VOX_WEB_HOST=0.0.0.0
EXPOSE 6066
USER nobody
ENTRYPOINT ["vox"]
CMD ["worker"]
