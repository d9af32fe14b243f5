# `fn build` builds with this file whenever it is here. It is the image fn would generate from
# func.yaml (fnproject/cli, langs/python.go) plus one step: the package's bytecode, compiled into
# the image. OCI Functions lets a function write only to /tmp, so without it every cold start
# would compile func.py and backup_fn from source first (README, Performance).
FROM fnproject/python:3.11-dev AS build-stage
WORKDIR /function
ADD requirements.txt /function/
RUN pip3 install --target /python/ --no-cache --no-cache-dir -r requirements.txt &&\
    rm -fr ~/.cache/pip /tmp* requirements.txt func.yaml Dockerfile .venv &&\
    chmod -R o+r /python
ADD . /function/
RUN python3 -m compileall -q --invalidation-mode checked-hash /function/func.py /function/backup_fn &&\
    rm -fr /function/.pip_cache

FROM fnproject/python:3.11
WORKDIR /function
COPY --from=build-stage /python /python
COPY --from=build-stage /function /function
RUN chmod -R o+r /function
ENV PYTHONPATH=/function:/python
ENTRYPOINT ["/python/bin/fdk", "/function/func.py", "handler"]
