//! Moderation of single messages: hide or show one (the subject's count and
//! last activity follow what readers see), publish a pending one.

use super::*;

pub(crate) fn moderated_post(request: &Request, params: &Params) -> Result<(Id, Post)> {
    if !access(request).moderate {
        return Err(Error::Forbidden);
    }
    let id = params.id("id")?;
    let post = Table::<Post>::new().get(id)?.ok_or(Error::NotFound)?;
    Ok((id, post))
}

pub(crate) fn toggle_post_hidden(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut post) = moderated_post(request, params)?;
    post.hidden = !post.hidden;
    Table::<Post>::new().put(id, &post)?;
    // The subject's count and last activity (the lists, the home block) follow
    // what readers see: a hidden reply is no longer counted, nor its author last.
    let subjects = Table::<Subject>::new();
    if let Some(mut subject) = subjects.get(post.subject)? {
        recount_visible(post.subject, &mut subject)?;
        subjects.put(post.subject, &subject)?;
    }
    Ok(Response::redirect(&format!("/s/{}#m{id}", post.subject)))
}

/// Sets `subject`'s message count and last activity from its published, visible messages.
fn recount_visible(id: Id, subject: &mut Subject) -> Result<()> {
    let visible: Vec<Post> = Table::<Post>::new()
        .scan_index(&model::subject_index(id), None, 5000, Order::OldestFirst)?
        .into_iter()
        .map(|(_, p)| p)
        .filter(|p| !p.hidden && !p.pending)
        .collect();
    subject.posts = visible.len() as u32;
    match visible.iter().max_by_key(|p| p.created_at) {
        Some(last) => {
            subject.last_post_at = last.created_at;
            subject.last_author = last.author_name.clone();
        }
        None => {
            subject.last_post_at = subject.created_at;
            subject.last_author = subject.author_name.clone();
        }
    }
    Ok(())
}

/// Publishes a pending message (and its subject when it was the first one).
pub(crate) fn approve(request: &Request, params: &Params) -> Result<Response> {
    let (id, mut post) = moderated_post(request, params)?;
    if post.pending {
        post.pending = false;
        Table::<Post>::new().put(id, &post)?;
        let subjects = Table::<Subject>::new();
        if let Some(mut subject) = subjects.get(post.subject)? {
            if subject.pending && subject.author_id == post.author_id {
                // The subject's first message: the subject opens with it.
                subject.pending = false;
            } else {
                subject.posts += 1;
            }
            subject.last_post_at = subject.last_post_at.max(post.created_at);
            subject.last_author = post.author_name.clone();
            subjects.put(post.subject, &subject)?;
        }
    }
    Ok(Response::redirect(&format!("/s/{}#m{id}", post.subject)))
}
