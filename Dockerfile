# The cnpg-restore-drill CLI for a pod (workflows/helm/cnpg-restore-drill): Node 24 slim, the bundle
# only (dist/ carries every dependency), as the non-root `node` user (uid 1000). The chart runs it with
# a read-only root file system and an emptyDir at /tmp (the kubeconfig file the drill hands to helpers).
# Built and pushed to ghcr.io by .github/workflows/release.yml.
FROM node:24-slim
WORKDIR /app
# ESM bundle: the package.json beside dist/ says "type": "module".
RUN printf '{"type":"module","private":true}\n' > /app/package.json
COPY dist/ /app/dist/
USER 1000:1000
ENV NODE_ENV=production
ENTRYPOINT ["node", "/app/dist/cnpg-restore-drill/cli.js"]
CMD ["--help"]
