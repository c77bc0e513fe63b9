//! Work split over the processor's cores, for the loops of a build that are worth it:
//! thousands of independent items of similar cost (incident files read and parsed, incident
//! views, incident, component and history pages, component feeds, component views, the parse
//! cache's shards).
//!
//! Scoped standard threads rather than a pool crate: the order of the results must be the order
//! of the items (so the output is the same whatever the thread count), the items borrow from
//! the caller's stack, and a batch of 256 items costs about a hundred times more than starting its
//! two threads (about 40 batches for a cold build of 10,000 incidents).

/// The number of threads worth using: the cores this process may run on (1 if unknown).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// `items` mapped by `f` on up to `threads` threads, in order. A panic in `f` is resumed on the
/// calling thread; a part no thread could be started for (a process limit) is mapped on the
/// calling thread.
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads <= 1 || items.len() < 2 {
        return items.iter().map(f).collect();
    }
    let per = items.len().div_ceil(threads);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(per)
            .map(|part| {
                let started = std::thread::Builder::new()
                    .spawn_scoped(scope, move || part.iter().map(f).collect::<Vec<R>>());
                (part, started.ok())
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|(part, started)| match started {
                Some(thread) => thread
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                None => part.iter().map(f).collect(),
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_order_of_the_items_whatever_the_threads() {
        let items: Vec<u32> = (0..1001).collect();
        for threads in [1, 2, 3, 8] {
            let doubled = super::map(&items, threads, |n| n * 2);
            assert_eq!(doubled, items.iter().map(|n| n * 2).collect::<Vec<_>>());
        }
    }
}
