package dev.diffuse4j.pipelines.hub;

import java.nio.file.Path;
import java.util.Map;

/**
 * The Hugging Face hub cache layout that Python tools share:
 * {@code $HF_HUB_CACHE or $HF_HOME/hub or ~/.cache/huggingface/hub}, then
 * {@code models--ORG--NAME/{blobs/ETAG, snapshots/COMMIT/PATH -> ../../blobs/ETAG, refs/REVISION}}.
 */
public record HubCache(Path root) {
    public static HubCache fromEnvironment() { return fromEnvironment(System.getenv()); }

    static HubCache fromEnvironment(Map<String, String> env) {
        String hubCache = env.get("HF_HUB_CACHE");
        if (hubCache != null && !hubCache.isBlank()) return new HubCache(Path.of(hubCache));
        String home = env.get("HF_HOME");
        if (home != null && !home.isBlank()) return new HubCache(Path.of(home, "hub"));
        String xdg = env.get("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new HubCache(base.resolve("huggingface").resolve("hub"));
    }

    /** models--ORG--NAME */
    public Path repoDir(String repoId) { return root.resolve("models--" + repoId.replace("/", "--")); }

    public Path blob(String repoId, String etag) { return repoDir(repoId).resolve("blobs").resolve(etag); }

    public Path snapshot(String repoId, String commit) { return repoDir(repoId).resolve("snapshots").resolve(commit); }

    public Path ref(String repoId, String revision) { return repoDir(repoId).resolve("refs").resolve(revision); }
}
