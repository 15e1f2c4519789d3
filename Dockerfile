# edgewatch runtime image: slim, non-root, no torch (the pipeline scores with ONNX Runtime).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY edgewatch ./edgewatch
COPY producers ./producers
COPY operators ./operators
COPY models ./models
COPY pipeline ./pipeline
RUN pip install --no-cache-dir --prefix=/install '.[confluent]'

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 edgewatch \
    && mkdir -p /home/edgewatch/alerts /data \
    && chown edgewatch:edgewatch /home/edgewatch/alerts
COPY --from=build /install /usr/local
USER edgewatch
WORKDIR /home/edgewatch
ENV PYTHONUNBUFFERED=1
EXPOSE 9108
ENTRYPOINT ["edgewatch"]
CMD ["--help"]
