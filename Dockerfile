# One image for every Tapewire role; the role is the argument:
#   docker build -t tapewire .
#   docker run --rm -v $PWD/examples/compose.toml:/etc/tapewire/deploy.toml:ro tapewire \
#       run normalize --config /etc/tapewire/deploy.toml
# Kafka, the schema registry and ClickHouse are their own services (docker-compose.yml);
# the image has no Java (the local broker from jars is for machines without them).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TAPEWIRE_DATA_DIR=/var/lib/tapewire

WORKDIR /opt/tapewire
# tapewire/{streams,connectors,schemas,sinks} are symlinks to these root folders
COPY pyproject.toml README.md ./
COPY tapewire ./tapewire
COPY streams ./streams
COPY connectors ./connectors
COPY schemas ./schemas
COPY sinks ./sinks
RUN pip install . && useradd --system --home /var/lib/tapewire --create-home tapewire

USER tapewire
# Faust keeps each app's state in <app id>-data under the working directory
WORKDIR /var/lib/tapewire
ENTRYPOINT ["tapewire"]
CMD ["run", "all", "--config", "/etc/tapewire/deploy.toml"]
